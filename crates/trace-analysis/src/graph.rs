//! The goroutine execution graph: every goroutine's life as a chain of segments (running,
//! runnable, waiting, in a system call), and the edges that cross between goroutines
//! (created by, unblocked by, handed off by).
//!
//! The graph is stored as columns rather than as node and edge objects, because a 500 MB
//! trace has tens of millions of segments: one segment costs about 11 bytes. Its start is a
//! 32-bit offset from the earliest start of its block of 64 segments; its state, how it
//! began and its reason share 16 bits; its stack, proc and thread are a 16-bit index into a
//! table of the few distinct combinations a trace has; and only the segments another
//! goroutine caused (about a third) keep that cause, in a table sorted by segment. The rare
//! start or combination that does not fit is kept aside, by segment. A goroutine's segments
//! are contiguous and in time order, so the segment before one is the one before it in the
//! columns, its end is the next one's start, and the segment of a goroutine at a given time
//! is one binary search away. To write each segment straight into its place, the build reads
//! the events twice: once to find the goroutines and count their segments, once to write.
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
    /// Each segment's start, as an offset from its block's base ([`FAR`] for one too far from
    /// it, found in `far_starts`).
    starts: Vec<u32>,
    /// The earliest start of each block of [`BLOCK`] segments.
    block_bases: Vec<Nanos>,
    far_starts: Vec<(SegmentId, Nanos)>,
    /// State (2 bits), how it began (4 bits), reason (10 bits).
    info: Vec<u16>,
    /// Where each segment happened, as an index into `site_table` ([`FAR_SITE`] for an index
    /// that does not fit, found in `far_sites`).
    sites: Vec<u16>,
    site_table: Vec<Site>,
    far_sites: Vec<(SegmentId, u32)>,
    /// (segment, the other goroutine's segment that caused it), by segment: only created,
    /// unblocked and handed-off segments have one.
    causes: Vec<(SegmentId, SegmentId)>,
    reasons: Vec<Name>,
    stop_the_world: Vec<(Nanos, Nanos)>,
    start_time: Nanos,
    end_time: Nanos,
}

/// Where a segment happened: its stack (0 for none), and the proc and thread of a running
/// or system call segment (-1 for none). A trace has few distinct ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Site {
    stack: u32,
    proc: i32,
    thread: i64,
}

const REASON_BITS: u32 = 10;
const MAX_REASONS: usize = 1 << REASON_BITS;
/// Segments per block of start times.
const BLOCK: usize = 64;
/// The offset of a start kept in `far_starts`.
const FAR: u32 = u32::MAX;
/// The site of a segment kept in `far_sites`.
const FAR_SITE: u16 = u16::MAX;

fn pack(state: SegmentState, began: SegmentStart, reason: u32) -> u16 {
    (state as u16) | (began as u16) << 2 | (reason as u16) << 6
}

/// A goroutine being built: its node and its current segment.
struct LiveGoroutine {
    node: u32,
    /// Its current segment ([`NO_SEGMENT`] while counting).
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

/// The two passes of the build: the first finds the goroutines and counts their segments,
/// so that the second writes each segment straight into its final place.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    Count,
    Write,
}

struct Builder<'i> {
    ir: &'i TraceIr,
    pass: Pass,
    graph: ExecutionGraph,
    nodes: Vec<GoroutineNode>,
    /// The next node to appear: both passes meet the goroutines in the same order.
    next_node: u32,
    /// Per node, how many of its segments are written.
    written: Vec<u32>,
    live: FxHashMap<i64, LiveGoroutine>,
    reason_index: FxHashMap<Vec<u8>, u32>,
    site_index: FxHashMap<Site, u32>,
    far_sites: FxHashMap<SegmentId, u32>,
    functions: FxHashMap<Vec<u8>, Name>,
    open_stw: Option<Nanos>,
    /// Offsets from a block's base at or above this are kept aside ([`FAR`] but in tests).
    offset_limit: u32,
    /// Site indices at or above this are kept aside ([`FAR_SITE`] but in tests).
    site_limit: u32,
}

impl ExecutionGraph {
    /// Builds the graph of a trace in two passes over its events.
    pub fn build(ir: &TraceIr) -> ExecutionGraph {
        ExecutionGraph::build_with_limits(ir, FAR, u32::from(FAR_SITE))
    }

    fn build_with_limits(ir: &TraceIr, offset_limit: u32, site_limit: u32) -> ExecutionGraph {
        let mut b = Builder {
            offset_limit,
            site_limit,
            ir,
            pass: Pass::Count,
            graph: ExecutionGraph { reasons: vec![Name::from("")], ..ExecutionGraph::default() },
            nodes: Vec::new(),
            next_node: 0,
            written: Vec::new(),
            live: FxHashMap::default(),
            reason_index: FxHashMap::from_iter([(Vec::new(), 0)]),
            site_index: FxHashMap::default(),
            far_sites: FxHashMap::default(),
            functions: FxHashMap::default(),
            open_stw: None,
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
        b.start_writing(last);
        for event in ir.events() {
            if event.kind() == EventKind::StateTransition {
                b.transition(&event);
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
        use std::mem::size_of_val;
        size_of_val(&*self.goroutines)
            + size_of_val(&*self.by_id)
            + size_of_val(&*self.starts)
            + size_of_val(&*self.block_bases)
            + size_of_val(&*self.far_starts)
            + size_of_val(&*self.info)
            + size_of_val(&*self.sites)
            + size_of_val(&*self.site_table)
            + size_of_val(&*self.far_sites)
            + size_of_val(&*self.causes)
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
        let before = nodes.iter().rev().find(|&&(_, n)| self.start(self.goroutines[n as usize].first_segment) < time);
        before.or(nodes.first()).map(|&(_, node)| node)
    }

    /// When a segment began.
    pub fn start(&self, segment: SegmentId) -> Nanos {
        match self.starts[segment as usize] {
            FAR => {
                let i = self.far_starts.binary_search_by_key(&segment, |&(s, _)| s).expect("every far start is kept");
                self.far_starts[i].1
            }
            offset => self.block_bases[segment as usize / BLOCK] + Nanos::from(offset),
        }
    }

    /// When a segment ended.
    pub fn end(&self, segment: SegmentId) -> Nanos {
        let g = &self.goroutines[self.goroutine_of(segment) as usize];
        if segment + 1 < g.first_segment + g.segment_count { self.start(segment + 1) } else { g.end }
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
        &self.reasons[(self.info[segment as usize] >> 6) as usize & (MAX_REASONS - 1)]
    }

    fn site(&self, segment: SegmentId) -> Site {
        let index = match self.sites[segment as usize] {
            FAR_SITE => {
                let i = self.far_sites.binary_search_by_key(&segment, |&(s, _)| s).expect("every far site is kept");
                self.far_sites[i].1
            }
            index => u32::from(index),
        };
        self.site_table[index as usize]
    }

    /// The stack of a segment (see [`Segment::stack`]).
    pub fn stack(&self, segment: SegmentId) -> Option<u64> {
        Some(u64::from(self.site(segment).stack)).filter(|&s| s != 0)
    }

    /// The other goroutine's segment that caused this one (creation, unblock, hand-off).
    pub fn cause(&self, segment: SegmentId) -> Option<SegmentId> {
        let i = self.causes.binary_search_by_key(&segment, |&(s, _)| s).ok()?;
        Some(self.causes[i].1)
    }

    /// A segment with everything resolved.
    pub fn segment(&self, id: SegmentId) -> Segment {
        let site = self.site(id);
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
            proc: (site.proc >= 0).then_some(i64::from(site.proc)),
            thread: (site.thread >= 0).then_some(site.thread),
        }
    }

    /// The segment of goroutine `node` that covers the instant just before `time`: the last
    /// one that began before `time`, or `None` if none had.
    pub fn segment_before(&self, node: u32, time: Nanos) -> Option<SegmentId> {
        let range = self.goroutines[node as usize].segments();
        // The first segment that began at or after `time`, by bisection.
        let (mut low, mut high) = (range.start, range.end);
        while low < high {
            let middle = low + (high - low) / 2;
            if self.start(middle) < time {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        (low > range.start).then(|| low - 1)
    }
}

impl Builder<'_> {
    fn reason(&mut self, bytes: &[u8]) -> u32 {
        if let Some(&i) = self.reason_index.get(bytes) {
            return i;
        }
        if self.graph.reasons.len() >= MAX_REASONS {
            // The runtime has a few dozen reasons; a trace with more is not worth a wider column.
            return 0;
        }
        let i = self.graph.reasons.len() as u32;
        self.graph.reasons.push(String::from_utf8_lossy(bytes).into());
        self.reason_index.insert(bytes.to_vec(), i);
        i
    }

    /// Sets where `segment` happened.
    fn set_site(&mut self, segment: SegmentId, site: Site) {
        let next = self.graph.site_table.len() as u32;
        let index = *self.site_index.entry(site).or_insert(next);
        if index == next {
            self.graph.site_table.push(site);
        }
        self.graph.sites[segment as usize] = if index < self.site_limit {
            index as u16
        } else {
            self.far_sites.insert(segment, index);
            FAR_SITE
        };
    }

    /// The goroutines are all known and counted: each one's segments get their place.
    fn start_writing(&mut self, end_time: Nanos) {
        for live in self.live.drain() {
            self.nodes[live.1.node as usize].end = end_time;
        }
        let mut first = 0u32;
        for node in &mut self.nodes {
            node.first_segment = first;
            first += node.segment_count;
        }
        let n = first as usize;
        let g = &mut self.graph;
        g.starts = vec![0; n];
        g.block_bases = vec![Nanos::MIN; n.div_ceil(BLOCK)];
        g.info = vec![0; n];
        g.sites = vec![0; n];
        self.written = vec![0; self.nodes.len()];
        self.next_node = 0;
        self.pass = Pass::Write;
    }

    /// Counts a segment of `node`, or writes it in its place; returns that place.
    fn push(&mut self, node: u32, segment: NewSegment) -> SegmentId {
        if self.pass == Pass::Count {
            self.nodes[node as usize].segment_count += 1;
            return NO_SEGMENT;
        }
        let id = self.nodes[node as usize].first_segment + self.written[node as usize];
        self.written[node as usize] += 1;
        let g = &mut self.graph;
        let (i, block) = (id as usize, id as usize / BLOCK);
        // Segments are written in time order, so the first one of a block is its earliest.
        if g.block_bases[block] == Nanos::MIN {
            g.block_bases[block] = segment.time;
        }
        g.starts[i] = match u32::try_from(segment.time - g.block_bases[block]) {
            Ok(offset) if offset < self.offset_limit => offset,
            _ => {
                g.far_starts.push((id, segment.time));
                FAR
            }
        };
        g.info[i] = pack(segment.state, segment.began, segment.reason);
        if segment.cause != NO_SEGMENT {
            g.causes.push((id, segment.cause));
        }
        let site = Site {
            stack: segment.stack.and_then(|s| u32::try_from(s).ok()).unwrap_or(0),
            proc: i32::try_from(segment.proc).unwrap_or(-1),
            thread: segment.thread,
        };
        self.set_site(id, site);
        id
    }

    fn transition(&mut self, event: &trace_format::Event) {
        let Some(st) = trace_format::state_transition(event, Some(self.ir)) else { return };
        let Transition::Goroutine { id, from, to } = st.transition else { return };
        if from == to {
            return;
        }
        let counting = self.pass == Pass::Count;
        let now = event.time();
        // The segment of the goroutine the event happened on, which caused this one.
        let causer =
            if event.goroutine() != NONE && event.goroutine() != id { self.live.get(&event.goroutine()) } else { None }
                .map_or(NO_SEGMENT, |g| g.current);
        let new_node = matches!(from, GoState::NotExist | GoState::Undetermined) || !self.live.contains_key(&id);
        if new_node {
            if let Some(old) = self.live.remove(&id)
                && counting
            {
                // A goroutine seen again as new: close the old one where it was.
                self.nodes[old.node as usize].end = now;
            }
            let node = self.next_node;
            self.next_node += 1;
            if counting {
                self.nodes.push(GoroutineNode {
                    id,
                    function: Name::from(""),
                    first_segment: 0,
                    segment_count: 0,
                    end: now,
                    ended: false,
                });
            }
            self.live.insert(id, LiveGoroutine { node, current: NO_SEGMENT });
        }
        let live = &self.live[&id];
        let (node, current) = (live.node, live.current);
        if counting
            && self.nodes[node as usize].function.is_empty()
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
        if current != NO_SEGMENT && self.graph.info[current as usize] & 3 == SegmentState::Running as u16 {
            let index = match self.graph.sites[current as usize] {
                FAR_SITE => self.far_sites.remove(&current).expect("every far site is kept"),
                index => u32::from(index),
            };
            let site = Site {
                stack: event.stack_id().and_then(|s| u32::try_from(s).ok()).unwrap_or(0),
                ..self.graph.site_table[index as usize]
            };
            self.set_site(current, site);
        }
        let wire = event.wire_type();
        let state = match to {
            GoState::Running => SegmentState::Running,
            GoState::Runnable => SegmentState::Runnable,
            GoState::Waiting => SegmentState::Waiting,
            GoState::Syscall => SegmentState::Syscall,
            GoState::NotExist | GoState::Undetermined => {
                if counting {
                    let n = &mut self.nodes[node as usize];
                    n.end = now;
                    n.ended = to == GoState::NotExist;
                }
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
        let reason = if !counting && matches!(began, SegmentStart::Blocked | SegmentStart::Stopped) {
            self.reason(st.reason)
        } else {
            0
        };
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
                    self.graph.stop_the_world.push((start, event.time()));
                }
            }
            RangePhase::Active => {}
        }
    }

    /// Sorts what was kept aside by segment, and drops the goroutines that never had a
    /// segment (seen only ending).
    fn finish(self, start_time: Nanos, end_time: Nanos) -> ExecutionGraph {
        let mut graph = self.graph;
        graph.far_starts.sort_unstable();
        graph.causes.sort_unstable();
        // The table grew by doubling; a third of all segments is worth the copy.
        graph.causes.shrink_to_fit();
        graph.far_starts.shrink_to_fit();
        graph.far_sites = self.far_sites.into_iter().collect();
        graph.far_sites.sort_unstable();
        graph.goroutines = self.nodes.into_iter().filter(|n| n.segment_count > 0).collect();
        graph.by_id = graph.goroutines.iter().enumerate().map(|(i, g)| (g.id, i as u32)).collect();
        graph.by_id.sort_unstable();
        graph.start_time = start_time;
        graph.end_time = end_time;
        graph
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Starts and sites kept aside read back as those kept in the columns: the same trace
    /// built with tiny limits (nearly everything aside) gives the same segments.
    #[test]
    fn starts_and_sites_kept_aside_read_back_the_same() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/traces");
        for trace in ["1.27.3/allevents.trace", "1.22.10/shutdown.trace", "1.21.13/httppprof.trace"] {
            let ir = TraceIr::from_trace(&std::fs::read(root.join(trace)).unwrap()).unwrap();
            let normal = ExecutionGraph::build(&ir);
            let aside = ExecutionGraph::build_with_limits(&ir, 1_000, 3);
            assert!(aside.far_starts.len() * 2 > aside.segment_count(), "{trace}: most starts aside");
            assert!(aside.far_sites.len() * 2 > aside.segment_count(), "{trace}: most sites aside");
            assert_eq!(normal.segment_count(), aside.segment_count(), "{trace}");
            for s in 0..normal.segment_count() as SegmentId {
                assert_eq!(normal.segment(s), aside.segment(s), "{trace}: segment {s}");
            }
        }
    }
}
