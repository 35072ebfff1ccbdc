//! The four pprof-like profiles of `go tool trace` (network blocking, synchronization
//! blocking, syscall, scheduler latency), with Go 1.27's definitions: each time a goroutine
//! enters the profiled state for a profiled reason, the time until it leaves that state is
//! added to the stack of the event that put it there, counting only the part that falls in the
//! goroutine's intervals of interest (its lifetime, or the regions asked about).

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use trace_format::ir::{StackHandle, TraceIr};
use trace_format::{GoState, Transition};

use crate::goroutines::{Nanos, RegionSummary, Summary, TaskSummary, is_sync_reason};

/// Which profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProfileKind {
    /// Time blocked on the network (`go tool trace -pprof=net`).
    Network,
    /// Time blocked on channels, `select` and `sync` primitives (`-pprof=sync`).
    Sync,
    /// Time in system calls (`-pprof=syscall`).
    Syscall,
    /// Time runnable, waiting for a proc (`-pprof=sched`).
    Sched,
}

impl ProfileKind {
    /// Every profile, in Go's order.
    pub const ALL: [ProfileKind; 4] =
        [ProfileKind::Network, ProfileKind::Sync, ProfileKind::Syscall, ProfileKind::Sched];

    /// The name `go tool trace -pprof=` takes.
    pub fn name(self) -> &'static str {
        match self {
            ProfileKind::Network => "net",
            ProfileKind::Sync => "sync",
            ProfileKind::Syscall => "syscall",
            ProfileKind::Sched => "sched",
        }
    }

    /// The profile named `name` (`net`, `sync`, `syscall`, `sched`).
    pub fn from_name(name: &str) -> Option<ProfileKind> {
        ProfileKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The name of the profile in the URLs of Go's pages (`/io`, `/block`, `/syscall`,
    /// `/sched`; with `region` before it for a region type's).
    pub fn page(self) -> &'static str {
        match self {
            ProfileKind::Network => "io",
            ProfileKind::Sync => "block",
            ProfileKind::Syscall => "syscall",
            ProfileKind::Sched => "sched",
        }
    }

    /// What the profile measures, for people.
    pub fn description(self) -> &'static str {
        match self {
            ProfileKind::Network => "network blocking",
            ProfileKind::Sync => "synchronization blocking",
            ProfileKind::Syscall => "syscall",
            ProfileKind::Sched => "scheduler latency",
        }
    }

    /// The state the profile measures time in.
    fn state(self) -> GoState {
        match self {
            ProfileKind::Network | ProfileKind::Sync => GoState::Waiting,
            ProfileKind::Syscall => GoState::Syscall,
            ProfileKind::Sched => GoState::Runnable,
        }
    }

    /// Whether entering the state for `reason` counts.
    fn tracks(self, reason: &[u8]) -> bool {
        match self {
            ProfileKind::Network => reason == b"network",
            ProfileKind::Sync => is_sync_reason(&String::from_utf8_lossy(reason)),
            ProfileKind::Syscall | ProfileKind::Sched => true,
        }
    }
}

/// A stack frame of a profile sample.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProfileFrame {
    /// Function name.
    pub func: String,
    /// File name.
    pub file: String,
    /// Line number.
    pub line: u64,
    /// Program counter.
    pub pc: u64,
}

/// A sample: a stack with how many times and for how long goroutines waited there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileRecord {
    /// The stack, innermost frame first (at most 128 frames, as Go keeps).
    pub stack: Vec<ProfileFrame>,
    /// How many waits.
    pub count: u64,
    /// Their total duration.
    pub time: Nanos,
}

/// The stretches of time, per goroutine, that a profile counts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Intervals(pub BTreeMap<i64, Vec<(Nanos, Nanos)>>);

/// Go's deduplication of stacks looks at this many frames.
pub(crate) const MAX_STACK: usize = 128;

impl Intervals {
    /// Each goroutine's lifetime, from its first start (0 if it never ran) to its end (the
    /// end of the trace if it did not end), for the goroutines whose start function is `name`
    /// (all goroutines for `None`). This is what `go tool trace -pprof=KIND` and the
    /// profiles of a goroutine group use.
    pub fn goroutines(summary: &Summary, name: Option<&str>) -> Intervals {
        Intervals(
            summary
                .goroutines
                .values()
                .filter(|g| name.is_none_or(|n| *g.name == *n))
                .map(|g| (g.id, vec![(g.start_time.unwrap_or(0), g.end_time.unwrap_or(summary.end_time))]))
                .collect(),
        )
    }

    /// The outermost of the regions that `keep` selects, per goroutine: the profile of a
    /// region type, as Go's region pages have it.
    pub fn regions(summary: &Summary, keep: impl Fn(&RegionSummary) -> bool) -> Intervals {
        let mut out: BTreeMap<i64, Vec<(Nanos, Nanos)>> = BTreeMap::new();
        for g in summary.goroutines.values() {
            for &index in &g.regions {
                let region = &summary.regions[index];
                if keep(region) {
                    out.entry(g.id).or_default().push(summary.region_interval(region));
                }
            }
        }
        for intervals in out.values_mut() {
            intervals.sort_unstable();
            // Nested regions are covered by their outermost one.
            let mut last_end = Nanos::MIN;
            intervals.retain(|&(start, end)| {
                let outermost = last_end <= start;
                if outermost {
                    last_end = end;
                }
                outermost
            });
        }
        Intervals(out)
    }

    /// The regions of a task: the profile of a task (which Go does not offer).
    pub fn task(summary: &Summary, task: &TaskSummary) -> Intervals {
        Intervals::regions(summary, |r| r.task == task.id)
    }

    /// How much of `[start, end]` falls in the intervals of goroutine `id`.
    fn overlap(&self, id: i64, start: Nanos, end: Nanos) -> Nanos {
        let Some(intervals) = self.0.get(&id) else { return 0 };
        intervals
            .iter()
            .filter(|&&(s, e)| !(e < start || end < s))
            .map(|&(s, e)| end.min(e) - start.max(s))
            .filter(|&d| d > 0)
            .sum()
    }
}

impl Summary {
    /// The time span of a region, with the trace's start or end standing in for a start or
    /// end the trace does not show.
    pub fn region_interval(&self, region: &RegionSummary) -> (Nanos, Nanos) {
        (
            region.start.as_ref().map_or(self.start_time, |e| e.time),
            region.end.as_ref().map_or(self.end_time, |e| e.time),
        )
    }

    /// The time span of a task, likewise.
    pub fn task_interval(&self, task: &TaskSummary) -> (Nanos, Nanos) {
        (task.start.as_ref().map_or(self.start_time, |e| e.time), task.end.as_ref().map_or(self.end_time, |e| e.time))
    }
}

/// The `kind` profile of the trace over `intervals`, samples with the longest time first.
pub fn profile(ir: &TraceIr, kind: ProfileKind, intervals: &Intervals) -> Vec<ProfileRecord> {
    profiles(ir, &[kind], intervals).pop().unwrap_or_default()
}

/// Several profiles over the same intervals in one pass over the events, in the order of
/// `kinds`.
pub fn profiles(ir: &TraceIr, kinds: &[ProfileKind], intervals: &Intervals) -> Vec<Vec<ProfileRecord>> {
    let mut accumulators: Vec<Accumulator> = kinds.iter().map(|&kind| Accumulator::new(kind)).collect();
    for (sequence, event) in ir.events().enumerate() {
        let Some(st) = trace_format::state_transition(&event, Some(ir)) else { continue };
        let Transition::Goroutine { id, to, .. } = st.transition else { continue };
        for accumulator in &mut accumulators {
            accumulator.transition(id, to, st.reason, &event, sequence as u64, intervals);
        }
    }
    accumulators.into_iter().map(|a| a.records(ir)).collect()
}

/// One profile being built.
struct Accumulator {
    kind: ProfileKind,
    /// The event that put each goroutine in the state: its time and stack.
    tracking: FxHashMap<i64, (Nanos, u64)>,
    /// Count, time and the last time seen, per stack of the IR.
    by_stack: FxHashMap<u64, (u64, Nanos, u64)>,
}

impl Accumulator {
    fn new(kind: ProfileKind) -> Accumulator {
        Accumulator { kind, tracking: FxHashMap::default(), by_stack: FxHashMap::default() }
    }

    fn transition(
        &mut self,
        id: i64,
        to: GoState,
        reason: &[u8],
        event: &trace_format::Event,
        sequence: u64,
        intervals: &Intervals,
    ) {
        let state = self.kind.state();
        match self.tracking.get(&id) {
            None => {
                if to == state && self.kind.tracks(reason) {
                    self.tracking.insert(id, (event.time(), event.stack_id().unwrap_or(0)));
                }
            }
            Some(_) if to == state => {}
            Some(&(start, stack)) => {
                self.tracking.remove(&id);
                let time = intervals.overlap(id, start, event.time());
                if time > 0 {
                    let entry = self.by_stack.entry(stack).or_default();
                    entry.0 += 1;
                    entry.1 += time;
                    entry.2 = sequence;
                }
            }
        }
    }

    fn records(self, ir: &TraceIr) -> Vec<ProfileRecord> {
        // Stacks with the same program counters are one sample, as in Go, which keeps the
        // frames of the one seen last. Go compares the counters zero-padded to a fixed length,
        // so trailing zero counters do not tell stacks apart (a stack of one frame at 0 is
        // empty).
        let mut by_pcs: BTreeMap<Vec<u64>, (u64, Nanos, u64, u64)> = BTreeMap::new();
        for (stack, (count, time, last)) in self.by_stack {
            let mut pcs: Vec<u64> = ir.stack(handle(stack)).take(MAX_STACK).map(|f| f.pc).collect();
            while pcs.last() == Some(&0) {
                pcs.pop();
            }
            let entry = by_pcs.entry(pcs).or_insert((0, 0, 0, stack));
            entry.0 += count;
            entry.1 += time;
            if last >= entry.2 {
                entry.2 = last;
                entry.3 = stack;
            }
        }
        let name = |h| String::from_utf8_lossy(ir.string(h).unwrap_or_default()).into_owned();
        let mut records: Vec<ProfileRecord> = by_pcs
            .into_values()
            .map(|(count, time, _, stack)| ProfileRecord {
                stack: ir
                    .stack(handle(stack))
                    .take(MAX_STACK)
                    .map(|f| ProfileFrame { func: name(f.func), file: name(f.file), line: f.line, pc: f.pc })
                    .collect(),
                count,
                time,
            })
            .collect();
        records.sort_by(|a, b| b.time.cmp(&a.time).then_with(|| a.stack.cmp(&b.stack)));
        records
    }
}

fn handle(stack: u64) -> StackHandle {
    StackHandle(u32::try_from(stack).unwrap_or(0))
}
