//! Per-goroutine time statistics, user regions and tasks, computed in one pass over the events
//! with the definitions of Go 1.27's `internal/trace` summarizer (what `go tool trace` shows on
//! its goroutine, task and region pages).
//!
//! Every goroutine's time is split into non-overlapping categories (execution, scheduler wait,
//! syscall execution, syscall block, block time by reason, and what is left unknown); the time
//! it spent in special ranges (GC mark assist, sweeping, stop-the-world pauses) overlaps them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rustc_hash::FxHashMap;
use trace_format::ir::TraceIr;
use trace_format::{Details, Event, EventKind, EventTables, GoState, NONE, ProcState, RangePhase, Scope, Transition};

/// Time in nanoseconds, as the events carry it.
pub type Nanos = i64;

/// A name from the trace (function, reason, range, task or region type), shared: the same
/// name is stored once however many goroutines, tasks and regions carry it.
pub type Name = Arc<str>;

/// Where a goroutine's time went during some period. Go's `GoroutineExecStats`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecStats {
    /// Running on a proc.
    pub exec_time: Nanos,
    /// Runnable, waiting for a proc (including the time after a syscall that lost its proc).
    pub sched_wait_time: Nanos,
    /// Blocked, by the reason the runtime gave (`chan receive`, `network`, `sync`, ...).
    /// A reason is present once the goroutine blocked for it, even for no time.
    pub block_time_by_reason: BTreeMap<Name, Nanos>,
    /// In a system call while holding its proc.
    pub syscall_time: Nanos,
    /// In a system call after its proc was taken away (a blocking system call).
    pub syscall_block_time: Nanos,
    /// The whole time the goroutine was present in the period; overlaps the others.
    pub total_time: Nanos,
    /// Time inside special ranges, by the range's name (`GC mark assist`, `GC incremental
    /// sweep`, `stop-the-world (...)`); overlaps the other categories.
    pub range_time: BTreeMap<Name, Nanos>,
}

/// The name Go gives the execution category in its tables.
pub const EXECUTION_TIME: &str = "Execution time";

impl ExecStats {
    /// The time not accounted for by any non-overlapping category.
    pub fn unknown_time(&self) -> Nanos {
        let accounted = self.exec_time
            + self.sched_wait_time
            + self.syscall_time
            + self.syscall_block_time
            + self.block_time_by_reason.values().sum::<Nanos>();
        (self.total_time - accounted).max(0)
    }

    /// The non-overlapping categories under the names Go's goroutine page shows
    /// (`Execution time`, `Sched wait time`, `Block time (chan receive)`, ...); together they
    /// make up the total time.
    pub fn non_overlapping(&self) -> BTreeMap<String, Nanos> {
        let mut stats: BTreeMap<String, Nanos> = [
            (EXECUTION_TIME, self.exec_time),
            ("Sched wait time", self.sched_wait_time),
            ("Syscall execution time", self.syscall_time),
            ("Block time (syscall)", self.syscall_block_time),
            ("Unknown time", self.unknown_time()),
        ]
        .into_iter()
        .map(|(name, time)| (name.to_owned(), time))
        .collect();
        for (reason, time) in &self.block_time_by_reason {
            *stats.entry(format!("Block time ({reason})")).or_default() += time;
        }
        stats
    }

    /// The total time blocked, whatever the reason (not counting blocking system calls).
    pub fn block_time(&self) -> Nanos {
        self.block_time_by_reason.values().sum()
    }

    /// Time blocked on the network: Go's classic "Network wait" column.
    pub fn network_wait(&self) -> Nanos {
        self.block_time_by_reason.get("network").copied().unwrap_or(0)
    }

    /// Time blocked on synchronization (channels, `select`, `sync` primitives): Go's classic
    /// "Sync block" column, the reasons the synchronization blocking profile counts.
    pub fn sync_block(&self) -> Nanos {
        self.block_time_by_reason.iter().filter(|(reason, _)| is_sync_reason(reason)).map(|(_, time)| time).sum()
    }

    /// Time in system calls that lost their proc: Go's classic "Blocking syscall" column.
    pub fn blocking_syscall(&self) -> Nanos {
        self.syscall_block_time
    }

    /// Time sweeping for the GC: Go's classic "GC sweeping" column.
    pub fn gc_sweeping(&self) -> Nanos {
        self.range_time.get("GC incremental sweep").copied().unwrap_or(0)
    }

    /// Time in stop-the-world pauses: Go's classic "GC pause" column.
    pub fn gc_pause(&self) -> Nanos {
        self.range_time.iter().filter(|(name, _)| name.starts_with("stop-the-world")).map(|(_, time)| time).sum()
    }

    /// Time assisting the GC's marking.
    pub fn gc_mark_assist(&self) -> Nanos {
        self.range_time.get("GC mark assist").copied().unwrap_or(0)
    }

    /// `self - earlier`, category by category: the stats of the period between two snapshots.
    /// Like Go, only the reasons and ranges of `self` are kept.
    fn since(&self, earlier: &ExecStats) -> ExecStats {
        let mut out = self.clone();
        out.exec_time -= earlier.exec_time;
        out.sched_wait_time -= earlier.sched_wait_time;
        out.syscall_time -= earlier.syscall_time;
        out.syscall_block_time -= earlier.syscall_block_time;
        out.total_time -= earlier.total_time;
        for (reason, time) in &mut out.block_time_by_reason {
            *time -= earlier.block_time_by_reason.get(reason).copied().unwrap_or(0);
        }
        for (name, time) in &mut out.range_time {
            *time -= earlier.range_time.get(name).copied().unwrap_or(0);
        }
        out
    }
}

/// Whether a block reason counts as synchronization (Go's synchronization blocking profile).
pub fn is_sync_reason(reason: &str) -> bool {
    reason.contains("chan") || reason.contains("sync") || reason.contains("select")
}

/// What an event that begins or ends a region or task was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EdgeKind {
    /// A goroutine changed state (the creation or end of a goroutine, for the regions the
    /// analysis makes up).
    Transition {
        /// The state before.
        from: GoState,
        /// The state after.
        to: GoState,
    },
    /// A region of this type began.
    RegionBegin(Name),
    /// A region of this type ended.
    RegionEnd(Name),
    /// A task began.
    TaskBegin {
        /// Its ID.
        id: u64,
        /// Its parent's ID ([`NO_TASK`] for none).
        parent: u64,
        /// Its type.
        name: Name,
    },
    /// A task ended.
    TaskEnd,
    /// Anything else.
    Other,
}

/// An event that begins or ends a region or task, as far as the analyses need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRef {
    /// When.
    pub time: Nanos,
    /// The goroutine it happened on, or [`NONE`].
    pub goroutine: i64,
    /// The event's stack, if it has one (a handle of the IR).
    pub stack: Option<u64>,
    /// The goroutine the event is about: the one that changed state for a state transition,
    /// else the one it happened on (Go's `primaryGoroutine`).
    pub primary_goroutine: i64,
    /// What the event was.
    pub kind: EdgeKind,
}

impl EventRef {
    fn new(event: &Event, kind: EdgeKind, primary_goroutine: i64) -> EventRef {
        EventRef { time: event.time(), goroutine: event.goroutine(), stack: event.stack_id(), primary_goroutine, kind }
    }

    fn transition(event: &Event, id: i64, from: GoState, to: GoState) -> EventRef {
        EventRef::new(event, EdgeKind::Transition { from, to }, id)
    }
}

fn quoted(text: &str) -> String {
    let mut out = Vec::new();
    trace_format::text::quote_into(&mut out, text.as_bytes());
    String::from_utf8_lossy(&out).into_owned()
}

impl EventRef {
    /// The event in words, as Go's task page describes it (`region "fetch" begin`,
    /// `task end`, `NotExist -> Runnable`); empty for events it does not describe.
    pub fn description(&self) -> String {
        match &self.kind {
            EdgeKind::Transition { from, to } => format!("{} -> {}", from.name(), to.name()),
            EdgeKind::RegionBegin(name) => format!("region {} begin", quoted(name)),
            EdgeKind::RegionEnd(name) => format!("region {} end", quoted(name)),
            EdgeKind::TaskBegin { id, parent, name } => {
                format!("task {} (ID {id}, parent {parent}) begin", quoted(name))
            }
            EdgeKind::TaskEnd => "task end".to_owned(),
            EdgeKind::Other => String::new(),
        }
    }
}

/// A user region (`trace.WithRegion`, `trace.StartRegion`) on one goroutine, with that
/// goroutine's statistics while it was active. Go's `UserRegionSummary`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionSummary {
    /// The task it belongs to, 0 for none.
    pub task: u64,
    /// Its type; empty for the region a new goroutine inherits from its creator's region.
    pub name: Name,
    /// The region's begin (or the goroutine's creation, for an inherited region); `None` if
    /// the region was already active when the trace began.
    pub start: Option<EventRef>,
    /// The region's end (or the goroutine's end); `None` if it was still active when the
    /// trace ended.
    pub end: Option<EventRef>,
    /// The goroutine's statistics between start and end.
    pub stats: ExecStats,
}

/// One goroutine: what it is, when it lived, and where its time went. Go's `GoroutineSummary`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoroutineSummary {
    /// Its ID.
    pub id: i64,
    /// Its start function (the outermost frame of the first stack seen for it); empty if no
    /// stack was ever seen.
    pub name: Name,
    /// The program counter of that frame; 0 if none.
    pub pc: u64,
    /// When it was created, or the start of the generation in which it first appeared.
    pub creation_time: Nanos,
    /// When it first ran, if it ever did.
    pub start_time: Option<Nanos>,
    /// When it ended (or blocked forever), if it did.
    pub end_time: Option<Nanos>,
    /// Where its time went.
    pub stats: ExecStats,
    /// Its regions, by start time, as indices into [`Summary::regions`].
    pub regions: Vec<usize>,
}

impl GoroutineSummary {
    /// Whether the runtime runs this goroutine for itself (as Go's `IsSystemGoroutine`).
    pub fn is_system(&self) -> bool {
        is_system_goroutine(&self.name)
    }
}

/// Whether a goroutine with start function `name` belongs to the runtime.
pub fn is_system_goroutine(name: &str) -> bool {
    name.is_empty() || (name != "runtime.main" && name.starts_with("runtime."))
}

/// The parent of a task that has none (Go's `NoTask`); task 0 is the background task.
pub const NO_TASK: u64 = u64::MAX;

/// A user task (`trace.NewTask`). Go's `UserTaskSummary`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TaskSummary {
    /// Its ID.
    pub id: u64,
    /// Its type.
    pub name: Name,
    /// Its parent's ID, if the trace names one.
    pub parent: Option<u64>,
    /// Its children's IDs, in the order they appeared.
    pub children: Vec<u64>,
    /// Its beginning, if the trace has it.
    pub start: Option<EventRef>,
    /// Its end, if the trace has it.
    pub end: Option<EventRef>,
    /// Its log messages, in order.
    pub logs: Vec<LogEntry>,
    /// Its regions, in the order they began, as indices into [`Summary::regions`].
    pub regions: Vec<usize>,
    /// The goroutines that began, ended or logged in it or ran one of its regions.
    pub goroutines: BTreeSet<i64>,
}

impl TaskSummary {
    /// Whether the trace shows both its beginning and its end.
    pub fn is_complete(&self) -> bool {
        self.start.is_some() && self.end.is_some()
    }
}

/// A user log message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// When.
    pub time: Nanos,
    /// The goroutine that logged it.
    pub goroutine: i64,
    /// Its category.
    pub category: Name,
    /// The message.
    pub message: Name,
}

/// The goroutines, tasks and regions of a trace.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// The goroutines by ID. A goroutine ID reused after its goroutine ended names the last
    /// goroutine that had it, as in Go.
    pub goroutines: BTreeMap<i64, GoroutineSummary>,
    /// The tasks by ID.
    pub tasks: BTreeMap<u64, TaskSummary>,
    /// Every region; goroutines and tasks refer to them by index.
    pub regions: Vec<RegionSummary>,
    /// The time of the first event.
    pub start_time: Nanos,
    /// The time of the last event.
    pub end_time: Nanos,
}

/// Shares the names of a trace: each distinct name is made once.
#[derive(Default)]
struct Names {
    names: FxHashMap<Box<[u8]>, Name>,
}

impl Names {
    /// The shared text of `bytes` (names are UTF-8 in practice; others are shown lossily).
    fn get(&mut self, bytes: &[u8]) -> Name {
        if let Some(name) = self.names.get(bytes) {
            return name.clone();
        }
        let name: Name = String::from_utf8_lossy(bytes).into();
        self.names.insert(bytes.into(), name.clone());
        name
    }
}

/// What the summarizer tracks of a live goroutine. Times are 0 when unset, as in Go, so that
/// the same (rare) corner cases give the same numbers.
#[derive(Debug, Default)]
struct Pending {
    last_start: Nanos,
    last_runnable: Nanos,
    last_block: Nanos,
    last_block_reason: Name,
    last_syscall: Nanos,
    last_syscall_block: Nanos,
    last_range: BTreeMap<Name, Nanos>,
    /// The stack of active regions, as indices into the summary's regions.
    active_regions: Vec<usize>,
}

struct Live {
    summary: GoroutineSummary,
    pending: Pending,
}

impl Live {
    fn new(id: i64, creation_time: Nanos) -> Live {
        Live {
            summary: GoroutineSummary {
                id,
                name: Name::from(""),
                pc: 0,
                creation_time,
                start_time: None,
                end_time: None,
                stats: ExecStats::default(),
                regions: Vec::new(),
            },
            pending: Pending::default(),
        }
    }

    /// The goroutine's statistics as of `now`, counting the state it is in.
    fn snapshot(&self, now: Nanos) -> ExecStats {
        let (g, p) = (&self.summary, &self.pending);
        let mut stats = g.stats.clone();
        if stats.total_time == 0 {
            stats.total_time = now - g.creation_time;
        }
        if p.last_start != 0 {
            stats.exec_time += now - p.last_start;
        }
        if p.last_runnable != 0 {
            stats.sched_wait_time += now - p.last_runnable;
        }
        if p.last_block != 0 {
            *stats.block_time_by_reason.entry(p.last_block_reason.clone()).or_default() += now - p.last_block;
        }
        if p.last_syscall != 0 {
            stats.syscall_time += now - p.last_syscall;
        }
        if p.last_syscall_block != 0 {
            // Go counts the time since a syscall lost its proc as scheduler wait here.
            stats.sched_wait_time += now - p.last_syscall_block;
        }
        for (name, &since) in &p.last_range {
            *stats.range_time.entry(name.clone()).or_default() += now - since;
        }
        stats
    }

    /// Closes the goroutine's books at `now`: at its end (`trigger` is the ending event) or
    /// at the end of the trace.
    fn finalize(&mut self, now: Nanos, trigger: Option<EventRef>, regions: &mut [RegionSummary]) {
        if let Some(event) = &trigger {
            self.summary.end_time = Some(event.time);
        }
        let stats = self.snapshot(now);
        // System goroutines never belong to regions, even when created inside one.
        if !self.summary.is_system() {
            for &index in &self.pending.active_regions {
                let region = &mut regions[index];
                region.end = trigger.clone();
                region.stats = stats.since(&region.stats);
                self.summary.regions.push(index);
            }
        }
        self.summary.stats = stats;
        self.pending = Pending::default();
    }
}

/// Builds the [`Summary`] of a trace from its events in order.
struct Summarizer<'i> {
    ir: &'i TraceIr,
    goroutines: FxHashMap<i64, Live>,
    tasks: BTreeMap<u64, TaskSummary>,
    regions: Vec<RegionSummary>,
    /// Which goroutine is in a syscall on which proc, both ways, to see a syscall block when
    /// its proc goes idle.
    syscalling_proc: FxHashMap<i64, i64>,
    syscalling_goroutine: FxHashMap<i64, i64>,
    /// The goroutine a proc-scoped range (by proc and name) is attributed to.
    proc_ranges: FxHashMap<(i64, Name), i64>,
    names: Names,
    first_time: Option<Nanos>,
    last_time: Nanos,
    sync_time: Nanos,
}

/// Summarizes the goroutines, tasks and regions of a trace.
pub fn summarize(ir: &TraceIr) -> Summary {
    let mut s = Summarizer {
        ir,
        goroutines: FxHashMap::default(),
        tasks: BTreeMap::new(),
        regions: Vec::new(),
        syscalling_proc: FxHashMap::default(),
        syscalling_goroutine: FxHashMap::default(),
        proc_ranges: FxHashMap::default(),
        names: Names::default(),
        first_time: None,
        last_time: 0,
        sync_time: 0,
    };
    for event in ir.events() {
        s.event(&event);
    }
    s.finish()
}

impl Summarizer<'_> {
    fn event(&mut self, event: &Event) {
        let now = event.time();
        if self.first_time.is_none() {
            self.first_time = Some(now);
            self.sync_time = now;
        }
        self.last_time = now;
        match event.kind() {
            EventKind::Sync => self.sync_time = now,
            EventKind::StateTransition => self.transition(event),
            EventKind::RangeBegin | EventKind::RangeActive | EventKind::RangeEnd => self.range(event),
            EventKind::RegionBegin | EventKind::RegionEnd => self.region(event),
            EventKind::TaskBegin | EventKind::TaskEnd => self.task(event),
            EventKind::Log => {
                if let Details::Log(log) = self.ir.details(event) {
                    let task = task_entry(&mut self.tasks, log.task);
                    task.goroutines.insert(event.goroutine());
                    task.logs.push(LogEntry {
                        time: now,
                        goroutine: event.goroutine(),
                        category: self.names.get(log.category),
                        message: String::from_utf8_lossy(log.message).into(),
                    });
                }
            }
            _ => {}
        }
    }

    fn transition(&mut self, event: &Event) {
        let Some(st) = trace_format::state_transition(event, Some(self.ir)) else { return };
        let now = event.time();
        match st.transition {
            Transition::Goroutine { id, from, to } => {
                if from == to {
                    return;
                }
                let reason = st.reason;
                match from {
                    GoState::Undetermined => {
                        // First seen at a generation's start: it has been in its state since then.
                        let mut g = Live::new(id, self.sync_time);
                        let in_state = now - self.sync_time;
                        let stats = &mut g.summary.stats;
                        match to {
                            GoState::Running => stats.exec_time += in_state,
                            GoState::Waiting => {
                                *stats.block_time_by_reason.entry(self.names.get(reason)).or_default() += in_state
                            }
                            GoState::Runnable => stats.sched_wait_time += in_state,
                            GoState::Syscall if event.proc() == NONE => stats.syscall_block_time += in_state,
                            GoState::Syscall => stats.syscall_time += in_state,
                            _ => {}
                        }
                        self.goroutines.insert(id, g);
                    }
                    GoState::NotExist => {
                        let mut g = Live::new(id, now);
                        // A new goroutine inherits the task of its creator's innermost region,
                        // through a made-up region that starts at its creation.
                        let inherited = self
                            .goroutines
                            .get(&event.goroutine())
                            .and_then(|creator| creator.pending.active_regions.last())
                            .map(|&index| self.regions[index].task);
                        if let Some(task) = inherited {
                            self.regions.push(RegionSummary {
                                task,
                                name: Name::from(""),
                                start: Some(EventRef::transition(event, id, from, to)),
                                end: None,
                                stats: ExecStats::default(),
                            });
                            g.pending.active_regions.push(self.regions.len() - 1);
                        }
                        self.goroutines.insert(id, g);
                    }
                    _ => {}
                }
                let Some(g) = self.goroutines.get_mut(&id) else { return };
                let p = &mut g.pending;
                let stats = &mut g.summary.stats;
                match from {
                    GoState::Running => {
                        stats.exec_time += now - p.last_start;
                        p.last_start = 0;
                    }
                    GoState::Waiting if p.last_block != 0 => {
                        *stats.block_time_by_reason.entry(p.last_block_reason.clone()).or_default() +=
                            now - p.last_block;
                        p.last_block = 0;
                    }
                    GoState::Runnable if p.last_runnable != 0 => {
                        stats.sched_wait_time += now - p.last_runnable;
                        p.last_runnable = 0;
                    }
                    GoState::Syscall if p.last_syscall != 0 => {
                        if p.last_syscall_block != 0 {
                            stats.syscall_block_time += now - p.last_syscall_block;
                            stats.syscall_time += p.last_syscall_block - p.last_syscall;
                        } else {
                            stats.syscall_time += now - p.last_syscall;
                        }
                        p.last_syscall = 0;
                        p.last_syscall_block = 0;
                        // Go forgets the binding through the goroutine's proc (0 if unknown).
                        let proc = self.syscalling_goroutine.remove(&id).unwrap_or(0);
                        self.syscalling_proc.remove(&proc);
                    }
                    _ => {}
                }
                if g.summary.name.is_empty()
                    && let Some(stack) = st.stack
                {
                    // The outermost frame is where the goroutine started, the same in all its stacks.
                    self.ir.for_each_frame(stack, &mut |frame| {
                        g.summary.pc = frame.pc;
                        g.summary.name = self.names.get(frame.func);
                    });
                }
                let p = &mut g.pending;
                match to {
                    GoState::Running => {
                        p.last_start = now;
                        g.summary.start_time.get_or_insert(now);
                    }
                    GoState::Runnable => p.last_runnable = now,
                    GoState::Waiting if reason != b"forever" => {
                        p.last_block = now;
                        p.last_block_reason = self.names.get(reason);
                    }
                    // Blocking forever is as good as ending.
                    GoState::Waiting | GoState::NotExist => {
                        g.finalize(now, Some(EventRef::transition(event, id, from, to)), &mut self.regions)
                    }
                    GoState::Syscall => {
                        self.syscalling_proc.insert(event.proc(), id);
                        self.syscalling_goroutine.insert(id, event.proc());
                        p.last_syscall = now;
                    }
                    GoState::Undetermined => {}
                }
            }
            Transition::Proc { id, from, to } => {
                // A proc going idle under a goroutine in a syscall means the syscall blocks.
                if from != to
                    && to == ProcState::Idle
                    && let Some(goroutine) = self.syscalling_proc.remove(&id)
                    && let Some(g) = self.goroutines.get_mut(&goroutine)
                {
                    g.pending.last_syscall_block = now;
                }
            }
        }
    }

    fn range(&mut self, event: &Event) {
        let Details::Range(range) = self.ir.details(event) else { return };
        let name = self.names.get(&range.name());
        if event.kind() == EventKind::RangeEnd {
            let goroutine = match range.scope {
                Scope::Goroutine(g) => Some(g),
                Scope::Proc(p) => {
                    // Only a range that ends on the goroutine it began on is attributed to it.
                    self.proc_ranges.remove(&(p, name.clone())).filter(|&g| g == event.goroutine())
                }
                Scope::Global => None,
            };
            let Some(g) = goroutine.and_then(|g| self.goroutines.get_mut(&g)) else { return };
            if let Some(since) = g.pending.last_range.get(&name).copied().filter(|&t| t != 0) {
                *g.summary.stats.range_time.entry(name.clone()).or_default() += event.time() - since;
                g.pending.last_range.remove(&name);
            }
            return;
        }
        let goroutine = match range.scope {
            Scope::Goroutine(g) => self.goroutines.contains_key(&g).then_some(g),
            Scope::Proc(p) => {
                // A proc's range (a sweep) is attributed to the goroutine running when it
                // began, as long as it ends on that goroutine too.
                let g = event.goroutine();
                let known = self.goroutines.contains_key(&g);
                if known {
                    self.proc_ranges.insert((p, name.clone()), g);
                }
                known.then_some(g)
            }
            Scope::Global => None,
        };
        let Some(g) = goroutine.and_then(|g| self.goroutines.get_mut(&g)) else { return };
        if range.phase == RangePhase::Active {
            if let Some(since) = g.pending.last_range.get(&name).copied().filter(|&t| t != 0) {
                *g.summary.stats.range_time.entry(name.clone()).or_default() += self.sync_time - since;
            }
            g.pending.last_range.insert(name, self.sync_time);
        } else {
            g.pending.last_range.insert(name, event.time());
        }
    }

    fn region(&mut self, event: &Event) {
        let Details::Region(region) = self.ir.details(event) else { return };
        let id = event.goroutine();
        let Some(g) = self.goroutines.get_mut(&id) else { return };
        let now = event.time();
        if event.kind() == EventKind::RegionBegin {
            self.regions.push(RegionSummary {
                task: region.task,
                name: self.names.get(region.type_name),
                start: Some(EventRef::new(event, EdgeKind::RegionBegin(self.names.get(region.type_name)), id)),
                end: None,
                stats: g.snapshot(now),
            });
            let index = self.regions.len() - 1;
            g.pending.active_regions.push(index);
            let task = task_entry(&mut self.tasks, region.task);
            task.regions.push(index);
            task.goroutines.insert(id);
            return;
        }
        let index = match g.pending.active_regions.pop() {
            Some(index) => index,
            None => {
                // An end without a beginning in the trace: the region began before it.
                self.regions.push(RegionSummary {
                    task: region.task,
                    name: self.names.get(region.type_name),
                    start: None,
                    end: None,
                    stats: ExecStats::default(),
                });
                let index = self.regions.len() - 1;
                let task = task_entry(&mut self.tasks, region.task);
                task.goroutines.insert(id);
                task.regions.push(index);
                index
            }
        };
        let stats = g.snapshot(now);
        let r = &mut self.regions[index];
        r.stats = stats.since(&r.stats);
        r.end = Some(EventRef::new(event, EdgeKind::RegionEnd(self.names.get(region.type_name)), id));
        g.summary.regions.push(index);
    }

    fn task(&mut self, event: &Event) {
        let Details::Task(t) = self.ir.details(event) else { return };
        let (id, parent, name) = (t.id, t.parent, self.names.get(&t.type_name));
        let kind = if event.kind() == EventKind::TaskBegin {
            EdgeKind::TaskBegin { id, parent, name: name.clone() }
        } else {
            EdgeKind::TaskEnd
        };
        let edge = Some(EventRef::new(event, kind, event.goroutine()));
        let task = self.task_entry(id);
        task.name = name;
        task.goroutines.insert(event.goroutine());
        if event.kind() == EventKind::TaskBegin {
            task.start = edge;
        } else {
            task.end = edge;
        }
        // Link to the parent once, so that the task appears once among its children.
        if parent != NO_TASK && task.parent.is_none() {
            task.parent = Some(parent);
            self.task_entry(parent).children.push(id);
        }
    }

    fn task_entry(&mut self, id: u64) -> &mut TaskSummary {
        task_entry(&mut self.tasks, id)
    }

    fn finish(mut self) -> Summary {
        let mut goroutines = BTreeMap::new();
        for (id, mut g) in self.goroutines.drain() {
            g.finalize(self.last_time, None, &mut self.regions);
            let regions = &self.regions;
            // By start time; regions whose start the trace does not show come first.
            g.summary.regions.sort_by_key(|&index| regions[index].start.as_ref().map(|e| e.time));
            goroutines.insert(id, g.summary);
        }
        Summary {
            goroutines,
            tasks: self.tasks,
            regions: self.regions,
            start_time: self.first_time.unwrap_or(0),
            end_time: self.last_time,
        }
    }
}

fn task_entry(tasks: &mut BTreeMap<u64, TaskSummary>, id: u64) -> &mut TaskSummary {
    tasks.entry(id).or_insert_with(|| TaskSummary { id, ..TaskSummary::default() })
}
