//! Per-goroutine time accounting, user tasks and regions: the summary `go tool trace` builds
//! for its goroutine, task and region pages (Go's `internal/trace.Summarizer`), computed the
//! same way so that the numbers agree to the nanosecond.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use trace_format::ir::{StackHandle, TraceIr};
use trace_format::{Details, Event, EventKind, GoState, ProcState, Scope, Transition};

/// Where a goroutine's time went. All but `total_time` and `range_time` are disjoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecStats {
    /// Running on a proc.
    pub exec_time: i64,
    /// Runnable, waiting for a proc (scheduler latency).
    pub sched_wait_time: i64,
    /// Blocked, by the runtime's reason (`chan receive`, `network`, `sync`, ...).
    pub block_time_by_reason: BTreeMap<String, i64>,
    /// In a system call while holding its proc.
    pub syscall_time: i64,
    /// In a system call after its proc was taken away (a blocking system call).
    pub syscall_block_time: i64,
    /// The goroutine's whole presence in the trace.
    pub total_time: i64,
    /// Time inside special ranges (`GC mark assist`, `GC incremental sweep`, ...); overlaps
    /// the other figures.
    pub range_time: BTreeMap<String, i64>,
}

impl ExecStats {
    /// The time not accounted for by the disjoint figures.
    pub fn unknown_time(&self) -> i64 {
        let known = self.exec_time
            + self.sched_wait_time
            + self.syscall_time
            + self.syscall_block_time
            + self.block_time_by_reason.values().sum::<i64>();
        (self.total_time - known).max(0)
    }

    /// The disjoint figures under the names Go's goroutine page gives them.
    pub fn non_overlapping(&self) -> BTreeMap<String, i64> {
        let mut stats = BTreeMap::from([
            ("Execution time".to_string(), self.exec_time),
            ("Sched wait time".to_string(), self.sched_wait_time),
            ("Syscall execution time".to_string(), self.syscall_time),
            ("Block time (syscall)".to_string(), self.syscall_block_time),
            ("Unknown time".to_string(), self.unknown_time()),
        ]);
        for (reason, &time) in &self.block_time_by_reason {
            *stats.entry(format!("Block time ({reason})")).or_insert(0) += time;
        }
        stats
    }

    /// `self - earlier`, figure by figure, for what happened inside a region.
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

/// One goroutine's summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoroutineSummary {
    /// The goroutine's ID.
    pub id: i64,
    /// Its start function (the outermost frame of the first stack seen for it); empty when
    /// no stack was seen.
    pub name: String,
    /// The program counter of that frame.
    pub pc: u64,
    /// When it appeared: its creation, or the start of the generation it was first seen in.
    pub creation_time: i64,
    /// When it first ran; 0 if it never did.
    pub start_time: i64,
    /// When it ended; 0 if it did not.
    pub end_time: i64,
    /// Its user regions, by start time (indices into [`Summary::regions`]).
    pub regions: Vec<usize>,
    /// Where its time went.
    pub stats: ExecStats,
    pending: Pending,
}

/// State of a goroutine kept while the events are read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Pending {
    last_start_time: i64,
    last_runnable_time: i64,
    last_block_time: i64,
    last_block_reason: String,
    last_syscall_time: i64,
    last_syscall_block_time: i64,
    last_range_time: BTreeMap<String, i64>,
    /// The stack of open regions (indices into the summary's regions).
    active_regions: Vec<usize>,
}

/// How a region's start or end is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    /// The event's time.
    pub time: i64,
    /// The event's kind: a region begin or end, or the goroutine's creation (a region
    /// inherited from the creator) or end (a region its goroutine never ended).
    pub kind: EventKind,
}

/// A user region (`trace.WithRegion`, `trace.StartRegion`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionSummary {
    /// The task it belongs to (0 for none).
    pub task: u64,
    /// Its type.
    pub name: String,
    /// The goroutine it ran on.
    pub goroutine: i64,
    /// Its start, if the trace shows it.
    pub start: Option<Edge>,
    /// Its end, if the trace shows it.
    pub end: Option<Edge>,
    /// Where the goroutine's time went while the region was open.
    pub stats: ExecStats,
}

/// A user log message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// When it was logged.
    pub time: i64,
    /// By which goroutine.
    pub goroutine: i64,
    /// Its category.
    pub category: String,
    /// The message.
    pub message: String,
}

/// A user task (`trace.NewTask`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskSummary {
    /// The task's ID.
    pub id: u64,
    /// Its type.
    pub name: String,
    /// Its parent, if known.
    pub parent: Option<u64>,
    /// Its children, in the order they appeared.
    pub children: Vec<u64>,
    /// When it began, if the trace shows it.
    pub start: Option<i64>,
    /// When it ended, if the trace shows it.
    pub end: Option<i64>,
    /// Its log messages.
    pub logs: Vec<LogEntry>,
    /// Its regions, in the order they began (indices into [`Summary::regions`]).
    pub regions: Vec<usize>,
    /// The goroutines that took part.
    pub goroutines: BTreeSet<i64>,
}

impl TaskSummary {
    /// Whether both its beginning and its end are in the trace.
    pub fn is_complete(&self) -> bool {
        self.start.is_some() && self.end.is_some()
    }
}

/// The summary of a whole trace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Goroutines by ID. A goroutine ID the runtime reused names its last goroutine only, as
    /// on Go's pages.
    pub goroutines: BTreeMap<i64, GoroutineSummary>,
    /// Tasks by ID.
    pub tasks: BTreeMap<u64, TaskSummary>,
    /// Every region, referred to by index from goroutines and tasks.
    pub regions: Vec<RegionSummary>,
    /// The time of the first and of the last event.
    pub first_time: i64,
    /// The time of the last event.
    pub last_time: i64,
}

/// Whether a start function is the runtime's own (Go's `IsSystemGoroutine`).
pub fn is_system_goroutine(name: &str) -> bool {
    name.is_empty() || name != "runtime.main" && name.starts_with("runtime.")
}

/// Builds the summary from every event of `ir`.
pub fn summarize(ir: &TraceIr) -> Summary {
    let mut s = Summarizer::default();
    for event in ir.events() {
        s.event(ir, &event);
    }
    s.finish()
}

#[derive(Default)]
struct Summarizer {
    summary: Summary,
    syscalling_p: HashMap<i64, i64>,
    syscalling_g: HashMap<i64, i64>,
    /// Ranges on a proc, attributed to the goroutine that was running when they began.
    ranges_p: HashMap<(i64, String), i64>,
    last_ts: i64,
    sync_ts: i64,
    seen_any: bool,
}

impl GoroutineSummary {
    fn new(id: i64, creation_time: i64) -> GoroutineSummary {
        GoroutineSummary {
            id,
            name: String::new(),
            pc: 0,
            creation_time,
            start_time: 0,
            end_time: 0,
            regions: Vec::new(),
            stats: ExecStats::default(),
            pending: Pending::default(),
        }
    }

    /// The figures as of `now`, counting the state the goroutine is still in.
    fn snapshot(&self, now: i64) -> ExecStats {
        let mut stats = self.stats.clone();
        let p = &self.pending;
        if stats.total_time == 0 {
            stats.total_time = now - self.creation_time;
        }
        if p.last_start_time != 0 {
            stats.exec_time += now - p.last_start_time;
        }
        if p.last_runnable_time != 0 {
            stats.sched_wait_time += now - p.last_runnable_time;
        }
        if p.last_block_time != 0 {
            *stats.block_time_by_reason.entry(p.last_block_reason.clone()).or_insert(0) += now - p.last_block_time;
        }
        if p.last_syscall_time != 0 {
            stats.syscall_time += now - p.last_syscall_time;
        }
        if p.last_syscall_block_time != 0 {
            // Go counts a syscall still blocked at the end as scheduler wait.
            stats.sched_wait_time += now - p.last_syscall_block_time;
        }
        for (name, &since) in &p.last_range_time {
            *stats.range_time.entry(name.clone()).or_insert(0) += now - since;
        }
        stats
    }
}

impl Summarizer {
    fn finalize(&mut self, id: i64, now: i64, trigger: Option<Edge>) {
        let Some(g) = self.summary.goroutines.get_mut(&id) else { return };
        if let Some(edge) = trigger {
            g.end_time = edge.time;
        }
        let stats = g.snapshot(now);
        g.stats = stats.clone();
        // Runtime goroutines are never part of regions, even if they inherited one.
        if !is_system_goroutine(&g.name) {
            for &index in &g.pending.active_regions {
                let region = &mut self.summary.regions[index];
                region.end = trigger;
                region.stats = stats.since(&region.stats);
                g.regions.push(index);
            }
        }
        g.pending = Pending::default();
    }

    fn task(&mut self, id: u64) -> &mut TaskSummary {
        self.summary.tasks.entry(id).or_insert_with(|| TaskSummary { id, ..TaskSummary::default() })
    }

    fn event(&mut self, ir: &TraceIr, ev: &Event) {
        let now = ev.time();
        if !self.seen_any {
            self.seen_any = true;
            self.sync_ts = now;
            self.summary.first_time = now;
        }
        self.last_ts = now;
        match ir.details(ev) {
            Details::Sync { .. } => self.sync_ts = now,
            Details::StateTransition(st) => match st.transition {
                Transition::Goroutine { id, from, to } => {
                    let reason = String::from_utf8_lossy(st.reason).into_owned();
                    self.goroutine_transition(ir, ev, id, from, to, &reason, st.stack);
                }
                Transition::Proc { id, from, to } => {
                    if from != to
                        && to == ProcState::Idle
                        && let Some(g) = self.syscalling_p.remove(&id)
                        && let Some(g) = self.summary.goroutines.get_mut(&g)
                    {
                        g.pending.last_syscall_block_time = now;
                    }
                }
            },
            Details::Range(range) => {
                let name = String::from_utf8_lossy(&range.name()).into_owned();
                match ev.kind() {
                    EventKind::RangeEnd => self.range_end(ev, range.scope, name),
                    kind => self.range_begin(ev, range.scope, name, kind == EventKind::RangeActive),
                }
            }
            Details::Region(region) => {
                let name = String::from_utf8_lossy(region.type_name).into_owned();
                if ev.kind() == EventKind::RegionBegin {
                    self.region_begin(ev, region.task, name);
                } else {
                    self.region_end(ev, region.task, name);
                }
            }
            Details::Task(task) => {
                let g = ev.goroutine();
                let is_begin = ev.kind() == EventKind::TaskBegin;
                let summary = self.task(task.id);
                summary.name = String::from_utf8_lossy(&task.type_name).into_owned();
                summary.goroutines.insert(g);
                if is_begin {
                    summary.start = Some(now);
                } else {
                    summary.end = Some(now);
                }
                // The parent is linked once, so that the task appears once among its children.
                if task.parent != 0 && summary.parent.is_none() {
                    summary.parent = Some(task.parent);
                    let id = task.id;
                    self.task(task.parent).children.push(id);
                }
            }
            Details::Log(log) => {
                let entry = LogEntry {
                    time: now,
                    goroutine: ev.goroutine(),
                    category: String::from_utf8_lossy(log.category).into_owned(),
                    message: String::from_utf8_lossy(log.message).into_owned(),
                };
                let task = self.task(log.task);
                task.goroutines.insert(ev.goroutine());
                task.logs.push(entry);
            }
            _ => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn goroutine_transition(
        &mut self,
        ir: &TraceIr,
        ev: &Event,
        id: i64,
        from: GoState,
        to: GoState,
        reason: &str,
        stack: Option<u64>,
    ) {
        if from == to {
            return;
        }
        let now = ev.time();
        // The transition out of the old state.
        match from {
            GoState::Undetermined => {
                // First seen at a generation's start: it has been in `to` since the sync.
                let mut g = GoroutineSummary::new(id, self.sync_ts);
                let time = now - self.sync_ts;
                match to {
                    GoState::Running => g.stats.exec_time += time,
                    GoState::Waiting => *g.stats.block_time_by_reason.entry(reason.to_string()).or_insert(0) += time,
                    GoState::Runnable => g.stats.sched_wait_time += time,
                    GoState::Syscall if ev.proc() < 0 => g.stats.syscall_block_time += time,
                    GoState::Syscall => g.stats.syscall_time += time,
                    _ => {}
                }
                self.summary.goroutines.insert(id, g);
            }
            GoState::NotExist => {
                let mut g = GoroutineSummary::new(id, now);
                // A goroutine created inside a region inherits its task, as a region of its
                // own that starts at its creation.
                let creator_region = self
                    .summary
                    .goroutines
                    .get(&ev.goroutine())
                    .and_then(|creator| creator.pending.active_regions.last().copied());
                if let Some(index) = creator_region {
                    let task = self.summary.regions[index].task;
                    self.summary.regions.push(RegionSummary {
                        task,
                        name: String::new(),
                        goroutine: id,
                        start: Some(Edge { time: now, kind: EventKind::StateTransition }),
                        end: None,
                        stats: ExecStats::default(),
                    });
                    g.pending.active_regions.push(self.summary.regions.len() - 1);
                }
                self.summary.goroutines.insert(id, g);
            }
            _ => {
                let Some(g) = self.summary.goroutines.get_mut(&id) else { return };
                let p = &mut g.pending;
                match from {
                    GoState::Running => {
                        g.stats.exec_time += now - p.last_start_time;
                        p.last_start_time = 0;
                    }
                    GoState::Waiting if p.last_block_time != 0 => {
                        *g.stats.block_time_by_reason.entry(p.last_block_reason.clone()).or_insert(0) +=
                            now - p.last_block_time;
                        p.last_block_time = 0;
                    }
                    GoState::Runnable if p.last_runnable_time != 0 => {
                        g.stats.sched_wait_time += now - p.last_runnable_time;
                        p.last_runnable_time = 0;
                    }
                    GoState::Syscall if p.last_syscall_time != 0 => {
                        if p.last_syscall_block_time != 0 {
                            g.stats.syscall_block_time += now - p.last_syscall_block_time;
                            g.stats.syscall_time += p.last_syscall_block_time - p.last_syscall_time;
                        } else {
                            g.stats.syscall_time += now - p.last_syscall_time;
                        }
                        p.last_syscall_time = 0;
                        p.last_syscall_block_time = 0;
                        if let Some(proc) = self.syscalling_g.remove(&id) {
                            self.syscalling_p.remove(&proc);
                        }
                    }
                    _ => {}
                }
            }
        }
        let Some(g) = self.summary.goroutines.get_mut(&id) else { return };
        // Named by the outermost frame of its first stack: its start function.
        if g.name.is_empty()
            && let Some(stack) = stack
            && let Some(root) = ir.stack(StackHandle(stack as u32)).last()
        {
            g.pc = root.pc;
            g.name = String::from_utf8_lossy(ir.string(root.func).unwrap_or_default()).into_owned();
        }
        // The transition into the new state.
        match to {
            GoState::Running => {
                g.pending.last_start_time = now;
                if g.start_time == 0 {
                    g.start_time = now;
                }
            }
            GoState::Runnable => g.pending.last_runnable_time = now,
            // Waiting forever is the goroutine's end.
            GoState::Waiting if reason != "forever" => {
                g.pending.last_block_time = now;
                g.pending.last_block_reason = reason.to_string();
            }
            GoState::Waiting | GoState::NotExist => {
                self.finalize(id, now, Some(Edge { time: now, kind: ev.kind() }));
            }
            GoState::Syscall => {
                self.syscalling_p.insert(ev.proc(), id);
                self.syscalling_g.insert(id, ev.proc());
                g.pending.last_syscall_time = now;
            }
            GoState::Undetermined => {}
        }
    }

    fn range_begin(&mut self, ev: &Event, scope: Scope, name: String, already_active: bool) {
        let id = match scope {
            Scope::Goroutine(g) => g,
            // A proc's range is credited to the goroutine running when it began, if any.
            Scope::Proc(p) => {
                if !self.summary.goroutines.contains_key(&ev.goroutine()) {
                    return;
                }
                self.ranges_p.insert((p, name.clone()), ev.goroutine());
                ev.goroutine()
            }
            Scope::Global => return,
        };
        let sync_ts = self.sync_ts;
        let Some(g) = self.summary.goroutines.get_mut(&id) else { return };
        if already_active {
            if let Some(&since) = g.pending.last_range_time.get(&name).filter(|&&t| t != 0) {
                *g.stats.range_time.entry(name.clone()).or_insert(0) += sync_ts - since;
            }
            g.pending.last_range_time.insert(name, sync_ts);
        } else {
            g.pending.last_range_time.insert(name, ev.time());
        }
    }

    fn range_end(&mut self, ev: &Event, scope: Scope, name: String) {
        let id = match scope {
            Scope::Goroutine(g) => Some(g),
            // Only if it ends on the goroutine it began on.
            Scope::Proc(p) => self.ranges_p.remove(&(p, name.clone())).filter(|&g| g == ev.goroutine()),
            Scope::Global => None,
        };
        let Some(g) = id.and_then(|id| self.summary.goroutines.get_mut(&id)) else { return };
        let Some(since) = g.pending.last_range_time.remove(&name) else { return };
        if since == 0 {
            return;
        }
        *g.stats.range_time.entry(name).or_insert(0) += ev.time() - since;
    }

    fn region_begin(&mut self, ev: &Event, task: u64, name: String) {
        let id = ev.goroutine();
        let Some(g) = self.summary.goroutines.get(&id) else { return };
        let stats = g.snapshot(ev.time());
        self.summary.regions.push(RegionSummary {
            task,
            name,
            goroutine: id,
            start: Some(Edge { time: ev.time(), kind: EventKind::RegionBegin }),
            end: None,
            stats,
        });
        let index = self.summary.regions.len() - 1;
        if let Some(g) = self.summary.goroutines.get_mut(&id) {
            g.pending.active_regions.push(index);
        }
        let t = self.task(task);
        t.regions.push(index);
        t.goroutines.insert(id);
    }

    fn region_end(&mut self, ev: &Event, task: u64, name: String) {
        let id = ev.goroutine();
        let Some(g) = self.summary.goroutines.get_mut(&id) else { return };
        let index = match g.pending.active_regions.pop() {
            Some(index) => index,
            None => {
                // An end without a beginning in the trace: the region is made up now.
                self.summary.regions.push(RegionSummary {
                    task,
                    name,
                    goroutine: id,
                    start: None,
                    end: None,
                    stats: ExecStats::default(),
                });
                let index = self.summary.regions.len() - 1;
                let t = self.task(task);
                t.goroutines.insert(id);
                t.regions.push(index);
                index
            }
        };
        let Some(g) = self.summary.goroutines.get_mut(&id) else { return };
        let now_stats = g.snapshot(ev.time());
        g.regions.push(index);
        let region = &mut self.summary.regions[index];
        region.stats = now_stats.since(&region.stats);
        region.end = Some(Edge { time: ev.time(), kind: EventKind::RegionEnd });
    }

    fn finish(mut self) -> Summary {
        let ids: Vec<i64> = self.summary.goroutines.keys().copied().collect();
        for id in ids {
            self.finalize(id, self.last_ts, None);
            let regions = &self.summary.regions;
            if let Some(g) = self.summary.goroutines.get_mut(&id) {
                // By start time; regions without a known start first (a stable sort).
                g.regions.sort_by_key(|&i| regions[i].start.map(|e| e.time));
            }
        }
        self.summary.last_time = self.last_ts;
        self.summary
    }
}

/// Goroutines grouped by start function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group<'s> {
    /// The start function (empty for goroutines no stack was seen for).
    pub name: &'s str,
    /// Its goroutines, by ID.
    pub goroutines: Vec<&'s GoroutineSummary>,
    /// Their total execution time.
    pub exec_time: i64,
}

/// The goroutines grouped by start function, by total execution time (largest first, then
/// by name), as Go's goroutine page lists them.
pub fn groups(summary: &Summary) -> Vec<Group<'_>> {
    let mut by_name: BTreeMap<&str, Group<'_>> = BTreeMap::new();
    for g in summary.goroutines.values() {
        let group = by_name.entry(&g.name).or_insert(Group { name: &g.name, goroutines: Vec::new(), exec_time: 0 });
        group.goroutines.push(g);
        group.exec_time += g.stats.exec_time;
    }
    let mut groups: Vec<Group<'_>> = by_name.into_values().collect();
    groups.sort_by(|a, b| b.exec_time.cmp(&a.exec_time).then_with(|| a.name.cmp(b.name)));
    groups
}

impl Group<'_> {
    /// The disjoint time categories any goroutine of the group has, in the order of Go's
    /// columns: execution time first, then by name.
    pub fn categories(&self) -> Vec<String> {
        let mut names: BTreeSet<String> = BTreeSet::new();
        for g in &self.goroutines {
            names.extend(g.stats.non_overlapping().into_keys());
        }
        let mut names: Vec<String> = names.into_iter().collect();
        names.sort_by_key(|n| n != "Execution time");
        names
    }

    /// The special ranges any goroutine of the group was in, by name.
    pub fn range_names(&self) -> Vec<String> {
        let names: BTreeSet<&String> = self.goroutines.iter().flat_map(|g| g.stats.range_time.keys()).collect();
        names.into_iter().cloned().collect()
    }
}

/// The figures of Go's goroutine pages (`/goroutines` and each `/goroutine?name=`) as plain
/// text, groups by name and goroutines by ID, durations as Go prints them: what comparisons
/// with Go's pages are made on.
pub fn pages_text(summary: &Summary) -> String {
    use crate::duration::go_duration;
    let mut groups = groups(summary);
    groups.sort_by(|a, b| a.name.cmp(b.name));
    let mut out = String::new();
    for group in &groups {
        out.push_str(&format!(
            "group {:?} count={} exec={}\n",
            group.name,
            group.goroutines.len(),
            go_duration(group.exec_time)
        ));
        let categories = group.categories();
        let range_names = group.range_names();
        for g in &group.goroutines {
            let stats = g.stats.non_overlapping();
            out.push_str(&format!("  goroutine {} total={}", g.id, go_duration(g.stats.total_time)));
            for name in &categories {
                out.push_str(&format!(" {name:?}={}", go_duration(stats.get(name).copied().unwrap_or(0))));
            }
            if g.stats.range_time.values().sum::<i64>() != 0 {
                out.push_str(" ranges");
                for name in &range_names {
                    out.push_str(&format!(
                        " {name:?}={}",
                        go_duration(g.stats.range_time.get(name).copied().unwrap_or(0))
                    ));
                }
            }
            out.push('\n');
        }
    }
    out
}

/// The classic columns of the goroutine table of older `go tool trace` versions, as sums of
/// the categories above.
impl ExecStats {
    /// Blocked waiting on the network: the `network` block reason.
    pub fn network_wait(&self) -> i64 {
        self.block_time_by_reason.get("network").copied().unwrap_or(0)
    }

    /// Blocked on synchronization: block reasons naming channels, `sync` or `select` (the
    /// definition of Go's synchronization profile).
    pub fn sync_block(&self) -> i64 {
        let is_sync = |r: &str| r.contains("chan") || r.contains("sync") || r.contains("select");
        self.block_time_by_reason.iter().filter(|(r, _)| is_sync(r)).map(|(_, t)| t).sum()
    }

    /// Blocked in a system call after losing its proc.
    pub fn blocking_syscall(&self) -> i64 {
        self.syscall_block_time
    }

    /// Time in GC sweeping on its proc.
    pub fn gc_sweeping(&self) -> i64 {
        self.range_time.get("GC incremental sweep").copied().unwrap_or(0)
    }

    /// Time helping the GC mark.
    pub fn gc_mark_assist(&self) -> i64 {
        self.range_time.get("GC mark assist").copied().unwrap_or(0)
    }

    /// Time in stop-the-world pauses it started (all reasons).
    pub fn gc_pause(&self) -> i64 {
        self.range_time.iter().filter(|(n, _)| n.starts_with("stop-the-world")).map(|(_, t)| t).sum()
    }
}

/// Percentiles of a set of durations, nearest-rank.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Percentiles {
    /// The median.
    pub p50: i64,
    /// The 90th percentile.
    pub p90: i64,
    /// The 99th percentile.
    pub p99: i64,
    /// The largest.
    pub max: i64,
}

impl Percentiles {
    /// The percentiles of `values` (all zero when empty).
    pub fn of(mut values: Vec<i64>) -> Percentiles {
        if values.is_empty() {
            return Percentiles::default();
        }
        values.sort_unstable();
        let rank = |p: usize| values[(values.len() * p).div_ceil(100).saturating_sub(1)];
        Percentiles { p50: rank(50), p90: rank(90), p99: rank(99), max: values[values.len() - 1] }
    }
}
