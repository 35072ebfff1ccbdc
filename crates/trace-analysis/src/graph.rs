//! The goroutine execution graph: every goroutine's life as a chain of segments (running,
//! runnable, waiting, in a system call), and the edges that cross between goroutines
//! (created by, unblocked by, handed off by).
//!
//! The graph is stored as columns rather than as node and edge objects, because a 500 MB
//! trace has tens of millions of segments: one segment costs 24 bytes (its start, its stack,
//! the segment that caused it, one word packing its state, how it began, its reason and its
//! proc, and its thread). A goroutine's segments are contiguous and in time order, so the
//! segment before one is the one before it in the columns, its end is the next one's start,
//! and the segment of a goroutine at a given time is one binary search away. The only edges
//! stored are those to another goroutine's segment: the one that created, unblocked or
//! handed off to this one.
//!
//! [`ExecutionGraph`] implements petgraph's visit traits, with edges pointing back in time
//! (from a segment to the segments it came from), so petgraph's traversals and algorithms
//! (`Dfs`, `has_path_connecting`, ...) run on it without building another graph.

use std::collections::HashSet;

use rustc_hash::FxHashMap;
use trace_format::ir::TraceIr;
use trace_format::{Details, EventKind, EventTables, EventType, GoState, NONE, RangeKind, RangePhase, Transition};

use crate::goroutines::{Name, Nanos};

/// The index of a segment in an [`ExecutionGraph`].
pub type SegmentId = u32;

/// No segment (the end of a chain, or no cause).
const NO_SEGMENT: SegmentId = u32::MAX;

/// What a goroutine was doing during a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SegmentState {
    /// Running on a proc.
    Running,
    /// Ready to run, waiting for a proc.
    Runnable,
    /// Blocked, for the segment's reason.
    Waiting,
    /// In a system call (with its proc, or after losing it).
    Syscall,
}

impl SegmentState {
    const ALL: [SegmentState; 4] =
        [SegmentState::Running, SegmentState::Runnable, SegmentState::Waiting, SegmentState::Syscall];

    /// The state's name: `running`, `runnable`, `waiting` or `syscall`.
    pub fn name(self) -> &'static str {
        match self {
            SegmentState::Running => "running",
            SegmentState::Runnable => "runnable",
            SegmentState::Waiting => "waiting",
            SegmentState::Syscall => "syscall",
        }
    }
}

/// How a segment began: the event that put the goroutine in the segment's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SegmentStart {
    /// The goroutine existed before the trace (or the generation) told its state: what came
    /// before is unknown.
    TraceStart,
    /// The goroutine was created (`go` statement); the cause is the creator's segment.
    Created,
    /// A proc started running it.
    Scheduled,
    /// It stopped running but stayed runnable (preempted, `runtime.Gosched`); the reason says which.
    Stopped,
    /// It blocked, for the segment's reason.
    Blocked,
    /// Another goroutine (the cause), or the runtime with no goroutine (netpoller, timers),
    /// made it runnable after a wait.
    Unblocked,
    /// A coroutine switch (`iter.Pull`) handed the proc to it; the cause is the switching segment.
    HandedOff,
    /// It entered a system call.
    SyscallEntered,
    /// It returned from a system call and kept its proc.
    SyscallReturned,
    /// It returned from a system call that had lost its proc, and must wait for one.
    SyscallReturnedLostProc,
}

impl SegmentStart {
    const ALL: [SegmentStart; 10] = [
        SegmentStart::TraceStart,
        SegmentStart::Created,
        SegmentStart::Scheduled,
        SegmentStart::Stopped,
        SegmentStart::Blocked,
        SegmentStart::Unblocked,
        SegmentStart::HandedOff,
        SegmentStart::SyscallEntered,
        SegmentStart::SyscallReturned,
        SegmentStart::SyscallReturnedLostProc,
    ];

    /// A short name (`created`, `unblocked`, ...).
    pub fn name(self) -> &'static str {
        match self {
            SegmentStart::TraceStart => "trace-start",
            SegmentStart::Created => "created",
            SegmentStart::Scheduled => "scheduled",
            SegmentStart::Stopped => "stopped",
            SegmentStart::Blocked => "blocked",
            SegmentStart::Unblocked => "unblocked",
            SegmentStart::HandedOff => "handed-off",
            SegmentStart::SyscallEntered => "syscall",
            SegmentStart::SyscallReturned => "syscall-returned",
            SegmentStart::SyscallReturnedLostProc => "syscall-returned-lost-proc",
        }
    }
}

/// One goroutine of the graph: a goroutine ID reused after its goroutine ended starts a new one.
#[derive(Debug, Clone)]
pub struct GoroutineNode {
    /// The goroutine's ID.
    pub id: i64,
    /// Its start function, as `gotrace goroutines` names it (empty if no stack was ever seen).
    pub function: Name,
    /// Its first segment.
    pub first_segment: SegmentId,
    /// How many segments it has (contiguous from the first).
    pub segment_count: u32,
    /// When its last segment ended: its end, or the end of the trace.
    pub end: Nanos,
    /// Whether it ended in the trace.
    pub ended: bool,
}

impl GoroutineNode {
    /// Its segments.
    pub fn segments(&self) -> std::ops::Range<SegmentId> {
        self.first_segment..self.first_segment + self.segment_count
    }

    /// Whether this is one of the garbage collector's own goroutines (mark workers, sweeper,
    /// scavenger, the forced-GC helper): their work counts as GC on a critical path.
    pub fn is_gc_worker(&self) -> bool {
        matches!(
            &*self.function,
            "runtime.gcBgMarkWorker" | "runtime.bgsweep" | "runtime.bgscavenge" | "runtime.forcegchelper"
        )
    }
}

/// One segment, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Its index.
    pub id: SegmentId,
    /// Its goroutine, as an index into [`ExecutionGraph::goroutines`].
    pub goroutine: u32,
    /// When it began.
    pub start: Nanos,
    /// When it ended (the next segment's start, or the goroutine's end).
    pub end: Nanos,
    /// What the goroutine was doing.
    pub state: SegmentState,
    /// How it began.
    pub began: SegmentStart,
    /// The reason of a wait or a stop (`chan receive`, `preempted`, ...); empty otherwise.
    pub reason: Name,
    /// The stack that tells where: for a running segment, where it stopped running; for a
    /// wait, a stop or a system call, where it began; for a segment another goroutine caused,
    /// the causing goroutine's stack at that moment.
    pub stack: Option<u64>,
    /// The other goroutine's segment that created, unblocked or handed off to this one.
    pub cause: Option<SegmentId>,
    /// The proc of a running segment.
    pub proc: Option<i64>,
    /// The thread of a running or system call segment.
    pub thread: Option<i64>,
}

/// The goroutine execution graph of a trace. See the module documentation.
#[derive(Debug, Clone, Default)]
pub struct ExecutionGraph {
    goroutines: Vec<GoroutineNode>,
    /// (goroutine ID, node) sorted, to find a goroutine's nodes by ID.
    by_id: Vec<(i64, u32)>,
    starts: Vec<Nanos>,
    stacks: Vec<u32>,
    causes: Vec<SegmentId>,
    /// State (2 bits), how it began (4 bits), reason (10 bits), proc + 1 (16 bits, 0 for none).
    info: Vec<u32>,
    threads: Vec<i32>,
    reasons: Vec<Name>,
    stop_the_world: Vec<(Nanos, Nanos)>,
    start_time: Nanos,
    end_time: Nanos,
}

const REASON_BITS: u32 = 10;
const MAX_REASONS: usize = 1 << REASON_BITS;

fn pack(state: SegmentState, began: SegmentStart, reason: u32, proc: i64) -> u32 {
    let proc = if (0..0xffff).contains(&proc) { proc as u32 + 1 } else { 0 };
    state as u32 | (began as u32) << 2 | reason << 6 | proc << 16
}

/// A goroutine being built: its node and its segments so far, in time order.
struct LiveGoroutine {
    node: u32,
    /// The index, in build order, of its current segment.
    current: SegmentId,
}

/// A segment about to be added.
struct NewSegment {
    time: Nanos,
    state: SegmentState,
    began: SegmentStart,
    reason: u32,
    stack: Option<u64>,
    cause: SegmentId,
    proc: i64,
    thread: i64,
}

/// The columns in the order events add segments, before they are grouped by goroutine.
#[derive(Default)]
struct Columns {
    goroutine: Vec<u32>,
    starts: Vec<Nanos>,
    stacks: Vec<u32>,
    causes: Vec<SegmentId>,
    info: Vec<u32>,
    threads: Vec<i32>,
}

struct Builder<'i> {
    ir: &'i TraceIr,
    columns: Columns,
    nodes: Vec<GoroutineNode>,
    live: FxHashMap<i64, LiveGoroutine>,
    reasons: Vec<Name>,
    reason_index: FxHashMap<Vec<u8>, u32>,
    functions: FxHashMap<Vec<u8>, Name>,
    open_stw: Option<Nanos>,
    stop_the_world: Vec<(Nanos, Nanos)>,
}

impl ExecutionGraph {
    /// Builds the graph of a trace in one pass over its events.
    pub fn build(ir: &TraceIr) -> ExecutionGraph {
        let mut b = Builder {
            ir,
            columns: Columns::default(),
            nodes: Vec::new(),
            live: FxHashMap::default(),
            reasons: vec![Name::from("")],
            reason_index: FxHashMap::from_iter([(Vec::new(), 0)]),
            functions: FxHashMap::default(),
            open_stw: None,
            stop_the_world: Vec::new(),
        };
        let (mut first, mut last) = (None, 0);
        for event in ir.events() {
            let now = event.time();
            first.get_or_insert(now);
            last = now;
            match event.kind() {
                EventKind::StateTransition => b.transition(&event),
                EventKind::RangeBegin | EventKind::RangeEnd => b.range(&event),
                _ => {}
            }
        }
        b.finish(first.unwrap_or(0), last)
    }

    /// The goroutines, in the order they first appear.
    pub fn goroutines(&self) -> &[GoroutineNode] {
        &self.goroutines
    }

    /// How many segments the graph has.
    pub fn segment_count(&self) -> usize {
        self.starts.len()
    }

    /// The time of the trace's first and last events.
    pub fn time_range(&self) -> (Nanos, Nanos) {
        (self.start_time, self.end_time)
    }

    /// The stop-the-world pauses, in time order.
    pub fn stop_the_world(&self) -> &[(Nanos, Nanos)] {
        &self.stop_the_world
    }

    /// The bytes the graph's tables take (not counting shared names).
    pub fn memory_bytes(&self) -> usize {
        self.starts.capacity() * 8
            + (self.stacks.capacity() + self.causes.capacity() + self.info.capacity() + self.threads.capacity()) * 4
            + self.goroutines.capacity() * std::mem::size_of::<GoroutineNode>()
            + self.by_id.capacity() * std::mem::size_of::<(i64, u32)>()
    }

    /// The goroutine (node index) a segment belongs to.
    pub fn goroutine_of(&self, segment: SegmentId) -> u32 {
        (self.goroutines.partition_point(|g| g.first_segment <= segment) - 1) as u32
    }

    /// The nodes of the goroutines with ID `id`, in the order they appeared.
    fn nodes_of(&self, id: i64) -> &[(i64, u32)] {
        let from = self.by_id.partition_point(|&(i, _)| i < id);
        let to = self.by_id.partition_point(|&(i, _)| i <= id);
        &self.by_id[from..to]
    }

    /// The node of the last goroutine with ID `id` (IDs can be reused after a goroutine ends).
    pub fn goroutine_by_id(&self, id: i64) -> Option<u32> {
        self.nodes_of(id).last().map(|&(_, node)| node)
    }

    /// The node of the goroutine with ID `id` that was alive at `time`: the last one that
    /// appeared before it (or the first, if none had).
    pub fn goroutine_at(&self, id: i64, time: Nanos) -> Option<u32> {
        let nodes = self.nodes_of(id);
        let before =
            nodes.iter().rev().find(|&&(_, n)| self.starts[self.goroutines[n as usize].first_segment as usize] < time);
        before.or(nodes.first()).map(|&(_, node)| node)
    }

    /// When a segment began.
    pub fn start(&self, segment: SegmentId) -> Nanos {
        self.starts[segment as usize]
    }

    /// When a segment ended.
    pub fn end(&self, segment: SegmentId) -> Nanos {
        let g = &self.goroutines[self.goroutine_of(segment) as usize];
        if segment + 1 < g.first_segment + g.segment_count { self.starts[segment as usize + 1] } else { g.end }
    }

    /// The segment before `segment` on the same goroutine.
    pub fn previous(&self, segment: SegmentId) -> Option<SegmentId> {
        let g = &self.goroutines[self.goroutine_of(segment) as usize];
        (segment > g.first_segment).then(|| segment - 1)
    }

    /// The state of a segment.
    pub fn state(&self, segment: SegmentId) -> SegmentState {
        SegmentState::ALL[(self.info[segment as usize] & 3) as usize]
    }

    /// How a segment began.
    pub fn began(&self, segment: SegmentId) -> SegmentStart {
        SegmentStart::ALL[((self.info[segment as usize] >> 2) & 15) as usize]
    }

    /// The reason of a segment (empty for none).
    pub fn reason(&self, segment: SegmentId) -> &Name {
        &self.reasons[((self.info[segment as usize] >> 6) as usize) & (MAX_REASONS - 1)]
    }

    /// The stack of a segment (see [`Segment::stack`]).
    pub fn stack(&self, segment: SegmentId) -> Option<u64> {
        Some(u64::from(self.stacks[segment as usize])).filter(|&s| s != 0)
    }

    /// The other goroutine's segment that caused this one (creation, unblock, hand-off).
    pub fn cause(&self, segment: SegmentId) -> Option<SegmentId> {
        Some(self.causes[segment as usize]).filter(|&c| c != NO_SEGMENT)
    }

    /// A segment with everything resolved.
    pub fn segment(&self, id: SegmentId) -> Segment {
        let info = self.info[id as usize];
        let proc = info >> 16;
        let thread = self.threads[id as usize];
        Segment {
            id,
            goroutine: self.goroutine_of(id),
            start: self.start(id),
            end: self.end(id),
            state: self.state(id),
            began: self.began(id),
            reason: self.reason(id).clone(),
            stack: self.stack(id),
            cause: self.cause(id),
            proc: (proc != 0).then(|| i64::from(proc) - 1),
            thread: (thread >= 0).then_some(i64::from(thread)),
        }
    }

    /// The segment of goroutine `node` that covers the instant just before `time`: the last
    /// one that began before `time`, or `None` if none had.
    pub fn segment_before(&self, node: u32, time: Nanos) -> Option<SegmentId> {
        let g = &self.goroutines[node as usize];
        let range = g.segments();
        let starts = &self.starts[range.start as usize..range.end as usize];
        let n = starts.partition_point(|&s| s < time);
        (n > 0).then(|| range.start + n as u32 - 1)
    }
}

impl Builder<'_> {
    fn reason(&mut self, bytes: &[u8]) -> u32 {
        if let Some(&i) = self.reason_index.get(bytes) {
            return i;
        }
        if self.reasons.len() >= MAX_REASONS {
            // The runtime has a few dozen reasons; a trace with more is not worth a wider column.
            return 0;
        }
        let i = self.reasons.len() as u32;
        self.reasons.push(String::from_utf8_lossy(bytes).into());
        self.reason_index.insert(bytes.to_vec(), i);
        i
    }

    fn push(&mut self, node: u32, segment: NewSegment) -> SegmentId {
        let c = &mut self.columns;
        let id = c.starts.len() as SegmentId;
        c.goroutine.push(node);
        c.starts.push(segment.time);
        c.stacks.push(segment.stack.and_then(|s| u32::try_from(s).ok()).unwrap_or(0));
        c.causes.push(segment.cause);
        c.info.push(pack(segment.state, segment.began, segment.reason, segment.proc));
        c.threads.push(i32::try_from(segment.thread).unwrap_or(-1));
        self.nodes[node as usize].segment_count += 1;
        id
    }

    fn transition(&mut self, event: &trace_format::Event) {
        let Some(st) = trace_format::state_transition(event, Some(self.ir)) else { return };
        let Transition::Goroutine { id, from, to } = st.transition else { return };
        if from == to {
            return;
        }
        let now = event.time();
        // The segment of the goroutine the event happened on, which caused this one.
        let causer =
            if event.goroutine() != NONE && event.goroutine() != id { self.live.get(&event.goroutine()) } else { None }
                .map_or(NO_SEGMENT, |g| g.current);
        let new_node = matches!(from, GoState::NotExist | GoState::Undetermined) || !self.live.contains_key(&id);
        if new_node {
            if let Some(old) = self.live.remove(&id) {
                // A goroutine seen again as new: close the old one where it was.
                self.nodes[old.node as usize].end = now;
            }
            let node = self.nodes.len() as u32;
            self.nodes.push(GoroutineNode {
                id,
                function: Name::from(""),
                first_segment: self.columns.starts.len() as SegmentId,
                segment_count: 0,
                end: now,
                ended: false,
            });
            self.live.insert(id, LiveGoroutine { node, current: NO_SEGMENT });
        }
        let live = &self.live[&id];
        let (node, current) = (live.node, live.current);
        if self.nodes[node as usize].function.is_empty()
            && let Some(stack) = st.stack
        {
            // The outermost frame is where the goroutine started, the same in all its stacks.
            let mut outermost: Option<Vec<u8>> = None;
            self.ir.for_each_frame(stack, &mut |frame| outermost = Some(frame.func.to_vec()));
            if let Some(func) = outermost {
                let name = self.functions.entry(func).or_insert_with_key(|f| String::from_utf8_lossy(f).into()).clone();
                self.nodes[node as usize].function = name;
            }
        }
        // A running segment is described by where it stopped.
        if current != NO_SEGMENT && self.columns.info[current as usize] & 3 == SegmentState::Running as u32 {
            self.columns.stacks[current as usize] = event.stack_id().and_then(|s| u32::try_from(s).ok()).unwrap_or(0);
        }
        let wire = event.wire_type();
        let state = match to {
            GoState::Running => SegmentState::Running,
            GoState::Runnable => SegmentState::Runnable,
            GoState::Waiting => SegmentState::Waiting,
            GoState::Syscall => SegmentState::Syscall,
            GoState::NotExist | GoState::Undetermined => {
                let n = &mut self.nodes[node as usize];
                n.end = now;
                n.ended = to == GoState::NotExist;
                self.live.remove(&id);
                return;
            }
        };
        let (began, cause, stack) = match from {
            GoState::Undetermined => (SegmentStart::TraceStart, NO_SEGMENT, st.stack),
            GoState::NotExist => (SegmentStart::Created, causer, event.stack_id()),
            GoState::Runnable => (SegmentStart::Scheduled, NO_SEGMENT, None),
            GoState::Running => match to {
                GoState::Runnable => (SegmentStart::Stopped, NO_SEGMENT, st.stack),
                GoState::Waiting => (SegmentStart::Blocked, NO_SEGMENT, st.stack),
                _ => (SegmentStart::SyscallEntered, NO_SEGMENT, st.stack),
            },
            GoState::Waiting if matches!(wire, Some(EventType::GoSwitch | EventType::GoSwitchDestroy)) => {
                (SegmentStart::HandedOff, causer, event.stack_id())
            }
            GoState::Waiting => (SegmentStart::Unblocked, causer, event.stack_id()),
            GoState::Syscall if to == GoState::Running => (SegmentStart::SyscallReturned, NO_SEGMENT, None),
            GoState::Syscall => (SegmentStart::SyscallReturnedLostProc, NO_SEGMENT, None),
        };
        // Only a wait or a stop has a reason; a made-up `Waiting` at a generation's start has none.
        let reason =
            if matches!(began, SegmentStart::Blocked | SegmentStart::Stopped) { self.reason(st.reason) } else { 0 };
        let (proc, thread) = match state {
            SegmentState::Running => (event.proc(), event.thread()),
            SegmentState::Syscall => (NONE, event.thread()),
            _ => (NONE, NONE),
        };
        let segment = self.push(node, NewSegment { time: now, state, began, reason, stack, cause, proc, thread });
        self.live.get_mut(&id).expect("inserted above").current = segment;
    }

    fn range(&mut self, event: &trace_format::Event) {
        let Details::Range(range) = self.ir.details(event) else { return };
        if range.kind != RangeKind::StopTheWorld {
            return;
        }
        match range.phase {
            RangePhase::Begin => self.open_stw = Some(event.time()),
            RangePhase::End => {
                if let Some(start) = self.open_stw.take() {
                    self.stop_the_world.push((start, event.time()));
                }
            }
            RangePhase::Active => {}
        }
    }

    /// Groups the segments by goroutine (each goroutine's in time order) and points the
    /// causes at the segments' new places.
    fn finish(mut self, start_time: Nanos, end_time: Nanos) -> ExecutionGraph {
        for live in self.live.values() {
            self.nodes[live.node as usize].end = end_time;
        }
        // Goroutines that never had a segment (seen only ending) are dropped.
        let mut first = 0u32;
        for node in &mut self.nodes {
            node.first_segment = first;
            first += node.segment_count;
        }
        let mut next: Vec<u32> = self.nodes.iter().map(|n| n.first_segment).collect();
        let c = self.columns;
        let place: Vec<SegmentId> = c
            .goroutine
            .iter()
            .map(|&g| {
                let p = next[g as usize];
                next[g as usize] += 1;
                p
            })
            .collect();
        fn scatter<T: Copy + Default>(values: Vec<T>, place: &[SegmentId]) -> Vec<T> {
            let mut out = vec![T::default(); values.len()];
            for (value, &p) in values.into_iter().zip(place) {
                out[p as usize] = value;
            }
            out
        }
        let causes: Vec<SegmentId> = c
            .causes
            .iter()
            .map(|&cause| if cause == NO_SEGMENT { NO_SEGMENT } else { place[cause as usize] })
            .collect();
        let causes = scatter(causes, &place);
        let goroutines: Vec<GoroutineNode> = self.nodes.into_iter().filter(|n| n.segment_count > 0).collect();
        let mut by_id: Vec<(i64, u32)> = goroutines.iter().enumerate().map(|(i, g)| (g.id, i as u32)).collect();
        by_id.sort_unstable();
        ExecutionGraph {
            by_id,
            starts: scatter(c.starts, &place),
            stacks: scatter(c.stacks, &place),
            causes,
            info: scatter(c.info, &place),
            threads: scatter(c.threads, &place),
            goroutines,
            reasons: self.reasons,
            stop_the_world: self.stop_the_world,
            start_time,
            end_time,
        }
    }
}

// petgraph's view: nodes are segments; the edges of a segment lead back in time, to the
// segment before it on its goroutine and to the other goroutine's segment that caused it.

impl petgraph::visit::GraphBase for ExecutionGraph {
    type NodeId = SegmentId;
    type EdgeId = (SegmentId, SegmentId);
}

/// The segments a segment came from: the one before it on its goroutine, then its cause.
pub struct Causes {
    items: [Option<SegmentId>; 2],
    next: usize,
}

impl Iterator for Causes {
    type Item = SegmentId;

    fn next(&mut self) -> Option<SegmentId> {
        while self.next < 2 {
            self.next += 1;
            if let Some(s) = self.items[self.next - 1] {
                return Some(s);
            }
        }
        None
    }
}

impl petgraph::visit::IntoNeighbors for &ExecutionGraph {
    type Neighbors = Causes;

    fn neighbors(self, segment: SegmentId) -> Causes {
        Causes { items: [self.previous(segment), self.cause(segment)], next: 0 }
    }
}

impl petgraph::visit::NodeCount for ExecutionGraph {
    fn node_count(&self) -> usize {
        self.segment_count()
    }
}

impl petgraph::visit::NodeIndexable for &ExecutionGraph {
    fn node_bound(&self) -> usize {
        self.segment_count()
    }

    fn to_index(&self, segment: SegmentId) -> usize {
        segment as usize
    }

    fn from_index(&self, index: usize) -> SegmentId {
        index as SegmentId
    }
}

impl petgraph::visit::Visitable for &ExecutionGraph {
    // A set, not a bit map over every segment: queries touch a small part of a big graph.
    type Map = HashSet<SegmentId>;

    fn visit_map(&self) -> HashSet<SegmentId> {
        HashSet::new()
    }

    fn reset_map(&self, map: &mut HashSet<SegmentId>) {
        map.clear();
    }
}
