//! The timeline index: what the viewer draws, built once from the IR.
//!
//! Every lane (a proc, a thread, a goroutine, a goroutine's regions at one nesting depth, a row
//! of tasks, GC, stop-the-world) holds its spans sorted by time and never overlapping, with a
//! pyramid of coarser levels ([`crate::pyramid`]) so that a window over the whole trace is
//! answered from a few thousand merged spans instead of millions.

use rustc_hash::FxHashMap;
use trace_format::ir::{StackHandle, TraceIr};
use trace_format::{Details, EventKind, GoState, RangeKind, RangePhase, Transition};

use crate::pyramid::{Levels, Merged};
use crate::series::Points;

/// What a span shows; the numbers are what the page's colour table is indexed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum SpanKind {
    /// A goroutine running (on a proc lane: the goroutine it runs).
    Running = 0,
    /// A goroutine ready to run, waiting for a proc.
    Runnable = 1,
    /// A goroutine blocked.
    Waiting = 2,
    /// A goroutine in a system call.
    Syscall = 3,
    /// A goroutine that existed before the trace, state not known yet.
    Undetermined = 4,
    /// The concurrent mark phase of a GC cycle.
    GcMark = 5,
    /// A stop-the-world pause.
    StopTheWorld = 6,
    /// A user region.
    Region = 7,
    /// A user task.
    Task = 8,
}

impl SpanKind {
    /// Every kind, in the order of their numbers.
    pub const ALL: [SpanKind; 9] = [
        SpanKind::Running,
        SpanKind::Runnable,
        SpanKind::Waiting,
        SpanKind::Syscall,
        SpanKind::Undetermined,
        SpanKind::GcMark,
        SpanKind::StopTheWorld,
        SpanKind::Region,
        SpanKind::Task,
    ];

    /// The kind's name as the page shows it.
    pub fn name(self) -> &'static str {
        match self {
            SpanKind::Running => "running",
            SpanKind::Runnable => "runnable",
            SpanKind::Waiting => "waiting",
            SpanKind::Syscall => "syscall",
            SpanKind::Undetermined => "undetermined",
            SpanKind::GcMark => "GC mark",
            SpanKind::StopTheWorld => "stop-the-world",
            SpanKind::Region => "region",
            SpanKind::Task => "task",
        }
    }

    fn of_goroutine_state(state: GoState) -> Option<SpanKind> {
        match state {
            GoState::Running => Some(SpanKind::Running),
            GoState::Runnable => Some(SpanKind::Runnable),
            GoState::Waiting => Some(SpanKind::Waiting),
            GoState::Syscall => Some(SpanKind::Syscall),
            GoState::Undetermined => Some(SpanKind::Undetermined),
            GoState::NotExist => None,
        }
    }
}

/// One span of a lane, in nanoseconds of the trace's clock. 24 bytes: spans are most of the
/// timeline's memory, so the label and the kind share a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// When it starts.
    pub start: i64,
    /// When it ends (at least `start`).
    pub end: i64,
    /// The stack of the event that began the span (0: none).
    pub stack: u32,
    label_and_kind: u32,
}

/// The bits of [`Span`]'s shared word that hold the label; the kind has the rest.
const LABEL_BITS: u32 = 28;
const LABEL_MASK: u32 = (1 << LABEL_BITS) - 1;

impl Span {
    /// A span; see [`label`](Self::label) for what `label` means on each lane.
    pub fn new(start: i64, end: i64, label: u32, stack: u32, kind: SpanKind) -> Span {
        // Labels count interned texts or goroutine lanes: 2^28 of either would not fit in
        // memory, so saturating only guards the kind's bits.
        let label = label.min(LABEL_MASK);
        Span { start, end, stack, label_and_kind: (kind as u32) << LABEL_BITS | label }
    }

    /// On proc and thread lanes, the index in [`Timeline::lanes`] of the goroutine's lane (see
    /// [`Timeline::lane_goroutine`]); on goroutine lanes the index of the reason in
    /// [`Timeline::labels`]; on region and task lanes the index of the name there.
    pub fn label(&self) -> u32 {
        self.label_and_kind & LABEL_MASK
    }

    /// What the span shows.
    pub fn kind(&self) -> SpanKind {
        SpanKind::ALL[(self.label_and_kind >> LABEL_BITS) as usize]
    }
}

/// A point event drawn as a mark on a lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    /// When it happened.
    pub time: i64,
    /// What it is.
    pub kind: MarkKind,
    /// A CPU sample's stack, or the index of a log message in [`Timeline::labels`].
    pub label: u32,
}

/// The kinds of mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum MarkKind {
    /// A CPU profile sample.
    CpuSample = 0,
    /// A `trace.Log` message.
    Log = 1,
}

/// What a lane is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LaneKey {
    /// Program-wide GC activity.
    Gc,
    /// Stop-the-world pauses.
    StopTheWorld,
    /// A row of user tasks.
    Tasks(u32),
    /// A proc.
    Proc(i64),
    /// An OS thread.
    Thread(i64),
    /// A goroutine.
    Goroutine(i64),
    /// The regions of a goroutine at one nesting depth (0 outermost).
    Regions(i64, u32),
}

/// A lane: spans that never overlap, sorted by time, with their pyramid, and marks.
#[derive(Debug)]
pub struct Lane {
    /// What it is about.
    pub key: LaneKey,
    /// Its spans.
    pub spans: Vec<Span>,
    /// Its marks, sorted by time.
    pub marks: Vec<Mark>,
    /// Coarser versions of `spans`.
    pub levels: Levels,
}

/// The ways of arranging the timeline's lanes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// One lane per proc.
    Proc,
    /// One lane per OS thread.
    Thread,
    /// One lane per goroutine, each followed by its regions.
    Goroutine,
}

impl View {
    /// The view named `name` (`proc`, `thread`, `goroutine`).
    pub fn parse(name: &str) -> Option<View> {
        match name {
            "proc" => Some(View::Proc),
            "thread" => Some(View::Thread),
            "goroutine" => Some(View::Goroutine),
            _ => None,
        }
    }
}

/// A time series drawn as a counter track.
#[derive(Debug)]
pub struct Counter {
    /// Its name.
    pub name: &'static str,
    /// Its values `(time, value)`, sorted by time; a value holds until the next.
    pub points: Points,
}

/// An arrow between goroutines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flow {
    /// When.
    pub time: i64,
    /// The goroutine that created or unblocked.
    pub from: i64,
    /// The goroutine created or unblocked.
    pub to: i64,
    /// Whether this is a creation (otherwise an unblocking).
    pub creation: bool,
}

/// What is known of a goroutine.
#[derive(Debug, Clone, Default)]
pub struct GoroutineInfo {
    /// Its ID.
    pub id: i64,
    /// The function it started in (empty when the trace does not say).
    pub name: String,
    /// The index of its lane in [`Timeline::lanes`].
    pub lane: u32,
}

/// The counters the timeline draws, in this order.
pub const COUNTER_NAMES: [&str; 9] = [
    "heap allocated (bytes)",
    "heap goal (bytes)",
    "goroutines running",
    "goroutines runnable",
    "goroutines waiting",
    "goroutines waiting on network",
    "goroutines sleeping (timers)",
    "threads running (procs running)",
    "threads in syscall",
];

/// The whole timeline of a trace.
#[derive(Debug)]
pub struct Timeline {
    /// The time of the first event.
    pub start: i64,
    /// The time of the last event.
    pub end: i64,
    /// Every lane.
    pub lanes: Vec<Lane>,
    /// Reasons, region and task names, log messages: what span and mark labels point to.
    pub labels: Vec<String>,
    /// The counters, named as in [`COUNTER_NAMES`].
    pub counters: Vec<Counter>,
    /// Creations and unblockings, sorted by time.
    pub flows: Vec<Flow>,
    /// Goroutines by ID.
    pub goroutines: Vec<GoroutineInfo>,
    /// The lanes of each view, in display order.
    views: [Vec<u32>; 3],
    /// The error that ended a damaged trace.
    pub error: Option<String>,
}

/// Interned strings: reasons and names repeat millions of times but are few.
#[derive(Default)]
struct Labels<'i> {
    texts: Vec<String>,
    index: FxHashMap<Vec<u8>, u32>,
    /// Texts borrowed from the IR, by address and length: the IR's strings neither move nor
    /// change while it is borrowed, so the same address means the same text, and the common
    /// case (a transition's reason) needs no hashing of bytes.
    by_address: FxHashMap<(usize, usize), u32>,
    _ir: std::marker::PhantomData<&'i [u8]>,
}

impl<'i> Labels<'i> {
    fn intern(&mut self, text: &[u8]) -> u32 {
        if let Some(&i) = self.index.get(text) {
            return i;
        }
        let i = self.texts.len() as u32;
        self.texts.push(String::from_utf8_lossy(text).into_owned());
        self.index.insert(text.to_vec(), i);
        i
    }

    /// [`intern`](Self::intern) for a text that lives as long as the IR.
    fn intern_ir_text(&mut self, text: &'i [u8]) -> u32 {
        let address = (text.as_ptr() as usize, text.len());
        if let Some(&i) = self.by_address.get(&address) {
            return i;
        }
        let i = self.intern(text);
        self.by_address.insert(address, i);
        i
    }
}

/// A goroutine's open state while the events are read.
struct GoroutineState {
    lane: usize,
    kind: Option<SpanKind>,
    since: i64,
    label: u32,
    stack: u32,
    /// The thread and proc it runs on, while running or in a syscall.
    thread: i64,
    proc: i64,
    regions: Vec<(i64, u32)>,
    waiting_reason: WaitClass,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum WaitClass {
    Other,
    Network,
    Sleep,
}

struct Builder<'i> {
    ir: &'i TraceIr,
    lanes: Vec<Lane>,
    lane_of: FxHashMap<LaneKey, usize>,
    labels: Labels<'i>,
    goroutines: FxHashMap<i64, GoroutineState>,
    names: FxHashMap<i64, String>,
    counters: Vec<Counter>,
    counts: [i64; COUNTER_NAMES.len()],
    flows: Vec<Flow>,
    gc_since: Option<i64>,
    stw_since: Option<(i64, u32)>,
    tasks: FxHashMap<u64, (i64, u32)>,
    finished_tasks: Vec<Span>,
    procs_running: FxHashMap<i64, bool>,
    first: i64,
}

/// Where and when a transition happens.
#[derive(Clone, Copy)]
struct Context {
    time: i64,
    thread: i64,
    proc: i64,
}

const HEAP_ALLOC: usize = 0;
const HEAP_GOAL: usize = 1;
const G_RUNNING: usize = 2;
const G_RUNNABLE: usize = 3;
const G_WAITING: usize = 4;
const G_NETWORK: usize = 5;
const G_SLEEP: usize = 6;
const T_RUNNING: usize = 7;
const T_SYSCALL: usize = 8;

impl<'i> Builder<'i> {
    fn lane(&mut self, key: LaneKey) -> usize {
        if let Some(&i) = self.lane_of.get(&key) {
            return i;
        }
        let i = self.lanes.len();
        self.lanes.push(Lane { key, spans: Vec::new(), marks: Vec::new(), levels: Levels::default() });
        self.lane_of.insert(key, i);
        i
    }

    fn push_span(&mut self, key: LaneKey, span: Span) {
        let lane = self.lane(key);
        self.lanes[lane].spans.push(span);
    }

    fn count(&mut self, counter: usize, delta: i64, time: i64) {
        self.counts[counter] += delta;
        self.set(counter, self.counts[counter], time);
    }

    fn set(&mut self, counter: usize, value: i64, time: i64) {
        self.counts[counter] = value;
        let points = &mut self.counters[counter].points;
        match points.last() {
            // Several changes at one instant: only the last value is ever visible.
            Some(last) if last.0 == time => {
                points.pop();
                if points.last().is_none_or(|before| before.1 != value) {
                    points.push(time, value);
                }
            }
            Some(last) if last.1 == value => {}
            _ => points.push(time, value),
        }
    }

    /// The counters a goroutine in `kind` (and, when waiting, `wait`) counts in.
    fn state_counters(kind: Option<SpanKind>, wait: WaitClass) -> &'static [usize] {
        match kind {
            Some(SpanKind::Running) => &[G_RUNNING],
            Some(SpanKind::Runnable) => &[G_RUNNABLE],
            Some(SpanKind::Waiting) => match wait {
                WaitClass::Network => &[G_WAITING, G_NETWORK],
                WaitClass::Sleep => &[G_WAITING, G_SLEEP],
                WaitClass::Other => &[G_WAITING],
            },
            Some(SpanKind::Syscall) => &[T_SYSCALL],
            _ => &[],
        }
    }

    fn goroutine_transition(&mut self, id: i64, to: GoState, reason: &'i [u8], stack: u32, at: Context) {
        let Context { time, thread, proc } = at;
        if !self.goroutines.contains_key(&id) {
            let lane = self.lane(LaneKey::Goroutine(id));
            let state = GoroutineState {
                lane,
                kind: None,
                since: time,
                label: 0,
                stack: 0,
                thread: -1,
                proc: -1,
                regions: Vec::new(),
                waiting_reason: WaitClass::Other,
            };
            self.goroutines.insert(id, state);
        }
        let (old_kind, old_wait, lane, since, label, old_stack, old_thread, old_proc) = {
            let g = &self.goroutines[&id];
            (g.kind, g.waiting_reason, g.lane, g.since, g.label, g.stack, g.thread, g.proc)
        };
        if let Some(kind) = old_kind {
            self.lanes[lane].spans.push(Span::new(since, time, label, old_stack, kind));
            if matches!(kind, SpanKind::Running | SpanKind::Syscall) && old_thread >= 0 {
                self.push_span(LaneKey::Thread(old_thread), Span::new(since, time, lane as u32, 0, kind));
            }
            if kind == SpanKind::Running && old_proc >= 0 {
                self.push_span(LaneKey::Proc(old_proc), Span::new(since, time, lane as u32, 0, kind));
            }
        }
        for &c in Self::state_counters(old_kind, old_wait) {
            self.count(c, -1, time);
        }
        let kind = SpanKind::of_goroutine_state(to);
        let wait = match reason {
            b"network" => WaitClass::Network,
            b"sleep" => WaitClass::Sleep,
            _ => WaitClass::Other,
        };
        for &c in Self::state_counters(kind, wait) {
            self.count(c, 1, time);
        }
        let label = self.labels.intern_ir_text(reason);
        let g = self.goroutines.get_mut(&id).expect("inserted above");
        g.kind = kind;
        g.waiting_reason = wait;
        g.since = time;
        g.label = label;
        g.stack = stack;
        g.thread = thread;
        g.proc = proc;
    }

    fn add(&mut self, event: &trace_format::Event) {
        let time = event.time();
        let ir = self.ir;
        match ir.details(event) {
            Details::StateTransition(transition) => {
                let stack = transition.stack.map_or(0, |s| s as u32);
                match transition.transition {
                    Transition::Goroutine { id, from, to } => {
                        if from == GoState::NotExist && to != GoState::NotExist {
                            if let Some(name) = first_function(ir, stack) {
                                self.names.insert(id, name);
                            }
                            if event.goroutine() >= 0 && event.goroutine() != id {
                                self.flows.push(Flow { time, from: event.goroutine(), to: id, creation: true });
                            }
                        } else if from == GoState::Waiting
                            && to == GoState::Runnable
                            && event.goroutine() >= 0
                            && event.goroutine() != id
                        {
                            self.flows.push(Flow { time, from: event.goroutine(), to: id, creation: false });
                        }
                        if !self.names.contains_key(&id)
                            && event.goroutine() == id
                            && let Some(name) = event.stack_id().and_then(|s| outermost_function(ir, s as u32))
                        {
                            self.names.insert(id, name);
                        }
                        let at = Context { time, thread: event.thread(), proc: event.proc() };
                        self.goroutine_transition(id, to, transition.reason, stack, at);
                    }
                    Transition::Proc { id, to, .. } => {
                        self.lane(LaneKey::Proc(id));
                        let running = to == trace_format::ProcState::Running;
                        let was = self.procs_running.insert(id, running).unwrap_or(false);
                        if running != was {
                            self.count(T_RUNNING, if running { 1 } else { -1 }, time);
                        }
                    }
                }
            }
            Details::Metric(metric) => {
                let counter = match metric.name {
                    "/memory/classes/heap/objects:bytes" => HEAP_ALLOC,
                    "/gc/heap/goal:bytes" => HEAP_GOAL,
                    _ => return,
                };
                self.set(counter, metric.value.min(i64::MAX as u64) as i64, time);
            }
            Details::Range(range) => match (range.kind, range.phase) {
                (RangeKind::GcMark, RangePhase::Begin | RangePhase::Active) => {
                    self.gc_since.get_or_insert(time);
                }
                (RangeKind::GcMark, RangePhase::End) => {
                    let start = self.gc_since.take().unwrap_or(self.lanes_start());
                    self.push_span(LaneKey::Gc, Span::new(start, time, 0, 0, SpanKind::GcMark));
                }
                (RangeKind::StopTheWorld, RangePhase::Begin | RangePhase::Active) => {
                    let name = self.labels.intern(&range.name());
                    self.stw_since.get_or_insert((time, name));
                }
                (RangeKind::StopTheWorld, RangePhase::End) => {
                    if let Some((start, name)) = self.stw_since.take() {
                        let span = Span::new(start, time, name, 0, SpanKind::StopTheWorld);
                        self.push_span(LaneKey::StopTheWorld, span);
                    }
                }
                _ => {}
            },
            Details::Task(task) => {
                let name = self.labels.intern(&task.type_name);
                if event.kind() == EventKind::TaskBegin {
                    self.tasks.insert(task.id, (time, name));
                } else {
                    let (start, name) = self.tasks.remove(&task.id).unwrap_or((self.lanes_start(), name));
                    let span = Span::new(start, time, name, 0, SpanKind::Task);
                    self.finished_tasks.push(span);
                }
            }
            Details::Region(region) => {
                let g = event.goroutine();
                let name = self.labels.intern_ir_text(region.type_name);
                let Some(state) = self.goroutines.get_mut(&g) else { return };
                if event.kind() == EventKind::RegionBegin {
                    state.regions.push((time, name));
                } else {
                    let depth = state.regions.len().saturating_sub(1) as u32;
                    let (start, name) = state.regions.pop().unwrap_or((self.lanes_start(), name));
                    let span = Span::new(start, time, name, 0, SpanKind::Region);
                    self.push_span(LaneKey::Regions(g, depth), span);
                }
            }
            Details::Log(log) => {
                let mut text = log.category.to_vec();
                text.extend_from_slice(b": ");
                text.extend_from_slice(log.message);
                let label = self.labels.intern(&text);
                self.mark(event, Mark { time, kind: MarkKind::Log, label });
            }
            Details::StackSample => {
                let label = event.stack_id().unwrap_or(0) as u32;
                self.mark(event, Mark { time, kind: MarkKind::CpuSample, label });
            }
            _ => {}
        }
    }

    fn mark(&mut self, event: &trace_format::Event, mark: Mark) {
        let key = if event.goroutine() >= 0 {
            LaneKey::Goroutine(event.goroutine())
        } else if event.proc() >= 0 {
            LaneKey::Proc(event.proc())
        } else {
            LaneKey::Thread(event.thread())
        };
        let lane = self.lane(key);
        self.lanes[lane].marks.push(mark);
    }

    /// The time of the first event: where ranges whose beginning the trace does not show start.
    fn lanes_start(&self) -> i64 {
        self.first
    }
}

/// The function of the first frame of a goroutine's start stack.
fn first_function(ir: &TraceIr, stack: u32) -> Option<String> {
    let frame = ir.stack(StackHandle(stack)).next()?;
    Some(String::from_utf8_lossy(ir.string(frame.func)?).into_owned())
}

/// The outermost function of a stack: where a goroutine seen running began.
fn outermost_function(ir: &TraceIr, stack: u32) -> Option<String> {
    let frame = ir.stack(StackHandle(stack)).last()?;
    Some(String::from_utf8_lossy(ir.string(frame.func)?).into_owned())
}

impl Timeline {
    /// Builds the timeline of `ir` in one pass over its events.
    pub fn build(ir: &TraceIr) -> Timeline {
        Self::build_with_progress(ir, |_| {})
    }

    /// As [`build`](Self::build), calling `progress` with the number of events read so far
    /// every 65,536 events (big traces take seconds here) and once at the end.
    pub fn build_with_progress(ir: &TraceIr, mut progress: impl FnMut(u64)) -> Timeline {
        let mut builder = Builder {
            ir,
            lanes: Vec::new(),
            lane_of: FxHashMap::default(),
            labels: Labels::default(),
            goroutines: FxHashMap::default(),
            names: FxHashMap::default(),
            counters: COUNTER_NAMES.iter().map(|&name| Counter { name, points: Points::default() }).collect(),
            counts: [0; COUNTER_NAMES.len()],
            flows: Vec::new(),
            gc_since: None,
            stw_since: None,
            tasks: FxHashMap::default(),
            finished_tasks: Vec::new(),
            procs_running: FxHashMap::default(),
            first: i64::MAX,
        };
        builder.labels.intern(b"");
        builder.lane(LaneKey::Gc);
        builder.lane(LaneKey::StopTheWorld);
        let (mut start, mut end) = (i64::MAX, i64::MIN);
        for (read, event) in ir.events().enumerate() {
            if read % 65_536 == 0 {
                progress(read as u64);
            }
            start = start.min(event.time());
            builder.first = start;
            end = end.max(event.time());
            builder.add(&event);
        }
        if start > end {
            (start, end) = (0, 0);
        }
        progress(ir.event_count());
        builder.close_open(start, end);
        let Builder { mut lanes, labels, names, counters, flows, mut finished_tasks, .. } = builder;
        finished_tasks.sort_by_key(|s| (s.start, s.end));
        // Rows are numbered from 0 in order of first use, so row `r` is the lane `first_row + r`.
        let first_row = lanes.len();
        for (row, span) in pack_rows(&finished_tasks) {
            let lane = first_row + row as usize;
            if lane == lanes.len() {
                let key = LaneKey::Tasks(row);
                lanes.push(Lane { key, spans: Vec::new(), marks: Vec::new(), levels: Levels::default() });
            }
            lanes[lane].spans.push(span);
        }
        for lane in &mut lanes {
            // Spans were pushed in order of their ends; the pyramid and lookups need starts.
            lane.spans.sort_by_key(|s| (s.start, s.end));
            lane.marks.sort_by_key(|m| m.time);
            lane.levels = Levels::build(&lane.spans);
            // The vectors grew by doubling; what a big trace keeps should not be half empty.
            lane.spans.shrink_to_fit();
            lane.marks.shrink_to_fit();
        }
        let mut counters = counters;
        for counter in &mut counters {
            counter.points.shrink_to_fit();
        }
        let mut flows = flows;
        flows.shrink_to_fit();
        let mut order: Vec<u32> = (0..lanes.len() as u32).collect();
        order.sort_by_key(|&i| lanes[i as usize].key);
        let mut goroutines: Vec<GoroutineInfo> = order
            .iter()
            .filter_map(|&i| match lanes[i as usize].key {
                LaneKey::Goroutine(id) => {
                    Some(GoroutineInfo { id, name: names.get(&id).cloned().unwrap_or_default(), lane: i })
                }
                _ => None,
            })
            .collect();
        goroutines.sort_by_key(|g| g.id);
        let pick = |keep: &dyn Fn(LaneKey) -> bool| -> Vec<u32> {
            order.iter().copied().filter(|&i| keep(lanes[i as usize].key)).collect()
        };
        let global = |k: LaneKey| matches!(k, LaneKey::Gc | LaneKey::StopTheWorld | LaneKey::Tasks(_));
        let views = [
            pick(&|k| global(k) || matches!(k, LaneKey::Proc(_))),
            pick(&|k| global(k) || matches!(k, LaneKey::Thread(_))),
            pick(&|k| global(k) || matches!(k, LaneKey::Goroutine(_) | LaneKey::Regions(..))),
        ];
        Timeline {
            start,
            end,
            lanes,
            labels: labels.texts,
            counters,
            flows,
            goroutines,
            views,
            error: ir.error().map(|e| e.message.clone()),
        }
    }

    /// The time `offset` nanoseconds after the trace's start, for an offset from a request:
    /// offsets beyond 2^60 ns (36 years) are clamped, so that arithmetic on times from outside
    /// cannot overflow.
    pub fn at(&self, offset: i64) -> i64 {
        const LIMIT: i64 = 1 << 60;
        self.start.saturating_add(offset.clamp(-LIMIT, LIMIT))
    }

    /// The lanes of `view`, in display order.
    pub fn view(&self, view: View) -> &[u32] {
        &self.views[view as usize]
    }

    /// The goroutine whose lane is `lanes[lane]` (what a proc or thread span's label holds).
    pub fn lane_goroutine(&self, lane: u32) -> Option<i64> {
        match self.lanes.get(lane as usize)?.key {
            LaneKey::Goroutine(id) => Some(id),
            _ => None,
        }
    }

    /// The goroutine with `id`.
    pub fn goroutine(&self, id: i64) -> Option<&GoroutineInfo> {
        self.goroutines.binary_search_by_key(&id, |g| g.id).ok().map(|i| &self.goroutines[i])
    }

    /// The lane's name as the page shows it.
    pub fn lane_name(&self, lane: &Lane) -> String {
        match lane.key {
            LaneKey::Gc => "GC".to_owned(),
            LaneKey::StopTheWorld => "STW".to_owned(),
            LaneKey::Tasks(row) => format!("Tasks {}", row + 1),
            LaneKey::Proc(id) => format!("Proc {id}"),
            LaneKey::Thread(id) => format!("Thread {id}"),
            LaneKey::Goroutine(id) => match self.goroutine(id) {
                Some(g) if !g.name.is_empty() => format!("G{id} {}", g.name),
                _ => format!("G{id}"),
            },
            LaneKey::Regions(g, depth) => format!("G{g} regions {}", depth + 1),
        }
    }

    /// The spans of `lane` between `start` and `end` at `resolution` nanoseconds per pixel:
    /// spans shorter than a pixel are merged, each merged span carrying the kind that covers
    /// most of it and how many spans it stands for.
    pub fn spans_in(&self, lane: &Lane, start: i64, end: i64, resolution: i64) -> Vec<Merged> {
        lane.levels.query(&lane.spans, start, end, resolution)
    }

    /// The span of `lane` covering `time`, or the nearest within `tolerance`, with its index.
    pub fn span_at(lane: &Lane, time: i64, tolerance: i64) -> Option<(usize, &Span)> {
        let spans = &lane.spans;
        let i = spans.partition_point(|s| s.end < time);
        let candidates = [i.checked_sub(1), Some(i), Some(i + 1)];
        candidates
            .into_iter()
            .flatten()
            .filter_map(|i| Some((i, spans.get(i)?)))
            .map(|(i, s)| (distance(s.start, s.end, time), i, s))
            .filter(|(d, ..)| *d <= tolerance)
            .min_by_key(|(d, ..)| *d)
            .map(|(_, i, s)| (i, s))
    }

    /// The mark of `lane` nearest `time`, within `tolerance`.
    pub fn mark_at(lane: &Lane, time: i64, tolerance: i64) -> Option<&Mark> {
        let i = lane.marks.partition_point(|m| m.time < time);
        [i.checked_sub(1), Some(i)]
            .into_iter()
            .flatten()
            .filter_map(|i| lane.marks.get(i))
            .map(|m| ((m.time - time).abs(), m))
            .filter(|(d, _)| *d <= tolerance)
            .min_by_key(|(d, _)| *d)
            .map(|(_, m)| m)
    }

    /// Time per goroutine state (running, runnable, waiting, syscall, undetermined) between
    /// `start` and `end`, summed over every goroutine.
    pub fn state_totals(&self, start: i64, end: i64) -> [i64; 5] {
        let mut totals = [0i64; 5];
        for g in &self.goroutines {
            let spans = &self.lanes[g.lane as usize].spans;
            let first = spans.partition_point(|s| s.end <= start);
            for span in spans[first..].iter().take_while(|s| s.start < end) {
                let overlap = span.end.min(end) - span.start.max(start);
                if let Some(total) = totals.get_mut(span.kind() as usize) {
                    *total += overlap.max(0);
                }
            }
        }
        totals
    }
}

fn distance(start: i64, end: i64, time: i64) -> i64 {
    if time < start {
        start - time
    } else if time > end {
        time - end
    } else {
        0
    }
}

impl Builder<'_> {
    /// Ends every span still open at the end of the trace.
    fn close_open(&mut self, start: i64, end: i64) {
        let mut open: Vec<i64> = self.goroutines.keys().copied().collect();
        open.sort_unstable();
        let closing = Context { time: end, thread: -1, proc: -1 };
        for id in open {
            if self.goroutines[&id].kind.is_some() {
                self.goroutine_transition(id, GoState::NotExist, b"", 0, closing);
            }
            let regions = std::mem::take(&mut self.goroutines.get_mut(&id).expect("listed").regions);
            for (depth, (since, name)) in regions.into_iter().enumerate() {
                let span = Span::new(since, end, name, 0, SpanKind::Region);
                self.push_span(LaneKey::Regions(id, depth as u32), span);
            }
        }
        if let Some(since) = self.gc_since.take() {
            self.push_span(LaneKey::Gc, Span::new(since.max(start), end, 0, 0, SpanKind::GcMark));
        }
        let mut tasks: Vec<(u64, (i64, u32))> = self.tasks.drain().collect();
        tasks.sort_unstable();
        for (_, (since, name)) in tasks {
            self.finished_tasks.push(Span::new(since, end, name, 0, SpanKind::Task));
        }
    }
}

/// Assigns overlapping spans (sorted by start) to rows so that no row overlaps itself.
fn pack_rows(spans: &[Span]) -> Vec<(u32, Span)> {
    let mut row_ends: Vec<i64> = Vec::new();
    spans
        .iter()
        .map(|span| {
            let row = match row_ends.iter().position(|&e| e <= span.start) {
                Some(r) => r,
                None => {
                    row_ends.push(i64::MIN);
                    row_ends.len() - 1
                }
            };
            row_ends[row] = span.end;
            (row as u32, *span)
        })
        .collect()
}
